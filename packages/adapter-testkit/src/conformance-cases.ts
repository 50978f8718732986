import { randomBytes } from "node:crypto";
import type { ConformanceCase } from "./case.js";
import { CaseContext } from "./case-context.js";
import { ALL_CASES } from "./cases/index.js";
import { type ConformanceOptions, resolveFeatures } from "./options.js";

/**
 * The suite as plain data: one {@link ConformanceCase} per check, each runnable on its own, outside
 * vitest's `it` if need be (the testkit's own tests run them against deliberately broken adapters and
 * expect them to fail). {@link runAdapterConformance} registers exactly these cases.
 *
 * Throws a `TypeError` at once for contradictory {@link ConformanceOptions.features}.
 */
export function conformanceCases(options: ConformanceOptions): ConformanceCase[] {
  if (typeof options?.create !== "function")
    throw new TypeError("conformance options need a create() function");
  const features = resolveFeatures(options.features);
  // One random tag per suite instance plus a counter per run: namespaces never repeat, even when a
  // case runs twice or two suites share a backend.
  const tag = randomBytes(4).toString("hex");
  let runs = 0;
  return ALL_CASES.map((definition) => {
    const skip = definition.skip?.(features);
    return {
      id: definition.id,
      title: definition.title,
      skip,
      async run() {
        if (skip !== undefined)
          throw new Error(`case ${definition.id} is skipped for these features: ${skip}`);
        const namespace = `ntk-${tag}-${(runs++).toString(36)}`;
        const context = new CaseContext(options, features, definition.id, namespace);
        try {
          await definition.run(context);
        } finally {
          await context.dispose();
        }
      },
    };
  });
}
