import { afterAll, beforeAll, describe, it } from "vitest";
import { conformanceCases } from "./conformance-cases.js";
import { type ConformanceOptions, describeFeatures, resolveFeatures } from "./options.js";

/**
 * Registers the adapter conformance suite with vitest: one `describe` named after the adapter and its
 * features, one `it` per case (skipped cases are listed as skipped, with the reason). Call it at the
 * top level of a test file:
 *
 * ```ts
 * import { runAdapterConformance } from "@netmesh/adapter-testkit";
 * runAdapterConformance({ name: "redis", create: ({ namespace }) => new RedisAdapter({ prefix: namespace }) });
 * ```
 */
export function runAdapterConformance(options: ConformanceOptions): void {
  const cases = conformanceCases(options);
  const title = `adapter conformance: ${options.name} (${describeFeatures(resolveFeatures(options.features))})`;
  describe(title, () => {
    if (options.setup) beforeAll(options.setup);
    if (options.teardown) afterAll(options.teardown);
    for (const conformanceCase of cases) {
      const name = `${conformanceCase.id}: ${conformanceCase.title}`;
      if (conformanceCase.skip !== undefined) it.skip(`${name} (skipped: ${conformanceCase.skip})`, () => {});
      else it(name, () => conformanceCase.run(), options.timeoutMs ?? 30_000);
    }
  });
}
