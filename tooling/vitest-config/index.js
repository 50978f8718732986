import { defineConfig, mergeConfig } from "vitest/config";

/**
 * The shared Vitest settings: node environment, no globals, generous timeouts for tests that talk to
 * real backends, and a forked pool so a crashing native client cannot take the runner down. Besides the
 * console output, every run writes a JSON report to `test-results/vitest.json` (a turbo output of the
 * `test` task, so a cached replay restores it): `.ci/run` counts the tests from these reports.
 * @param {import("vitest/config").ViteUserConfig} [overrides]
 */
export function defineNetmeshConfig(overrides = {}) {
  return mergeConfig(
    defineConfig({
      test: {
        environment: "node",
        include: ["test/**/*.test.ts"],
        pool: "forks",
        testTimeout: 30_000,
        hookTimeout: 60_000,
        reporters: ["default", "json"],
        outputFile: { json: "test-results/vitest.json" },
      },
    }),
    overrides,
  );
}
