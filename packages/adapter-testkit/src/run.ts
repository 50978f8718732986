import { afterAll, beforeAll, describe, it } from "vitest";
import { conformanceCases } from "./conformance-cases.js";
import type { ConformanceOptions } from "./options.js";

/**
 * Registers the adapter conformance suite with vitest: one `describe` named after the adapter, one
 * `it` per case. What a case checks comes from the adapter's own `capabilities`, read when the case
 * runs; a case that does not apply to them is reported as skipped, with the reason. Call it at the top
 * level of a test file:
 *
 * ```ts
 * import { runAdapterConformance } from "@netmesh/adapter-testkit";
 * runAdapterConformance({ name: "redis", create: ({ namespace }) => new RedisAdapter({ prefix: namespace }) });
 * ```
 */
export function runAdapterConformance(options: ConformanceOptions): void {
  const cases = conformanceCases(options);
  describe(`adapter conformance: ${options.name}`, () => {
    if (options.setup) beforeAll(options.setup);
    if (options.teardown) afterAll(options.teardown);
    for (const conformanceCase of cases) {
      it(
        `${conformanceCase.id}: ${conformanceCase.title}`,
        async (test) => {
          const outcome = await conformanceCase.run();
          if (outcome.skipped !== undefined) test.skip(`not applicable: ${outcome.skipped}`);
        },
        options.timeoutMs ?? 30_000,
      );
    }
  });
}
