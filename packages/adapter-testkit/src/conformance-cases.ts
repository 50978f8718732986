import { randomBytes } from "node:crypto";
import type { ConformanceCase } from "./case.js";
import { CaseContext, SuiteState } from "./case-context.js";
import { ALL_CASES } from "./cases/index.js";
import type { ConformanceOptions } from "./options.js";

/**
 * The suite as plain data: one {@link ConformanceCase} per check, each runnable on its own, outside
 * vitest's `it` if need be (the testkit's own tests run them against deliberately broken adapters and
 * expect them to fail). {@link runAdapterConformance} registers exactly these cases.
 */
export function conformanceCases(options: ConformanceOptions): ConformanceCase[] {
  if (typeof options?.create !== "function")
    throw new TypeError("conformance options need a create() function");
  // One random tag per suite instance plus a counter per run: namespaces never repeat, even when a
  // case runs twice or two suites share a backend.
  const tag = randomBytes(4).toString("hex");
  const suite = new SuiteState();
  let runs = 0;
  return ALL_CASES.map((definition) => ({
    id: definition.id,
    title: definition.title,
    async run() {
      const namespace = `ntk-${tag}-${(runs++).toString(36)}`;
      const context = new CaseContext(options, suite, definition.id, namespace);
      try {
        await context.prepare();
        const skipped = definition.skip?.(context.features);
        if (skipped !== undefined) return { skipped };
        await definition.run(context);
        await context.expectStableCapabilities();
        return {};
      } finally {
        await context.dispose();
      }
    },
  }));
}
