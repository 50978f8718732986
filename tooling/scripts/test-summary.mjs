#!/usr/bin/env node
// Prints one plain "N passed, M failed[, K skipped]" line from the Vitest JSON reports that every
// package's `test` task writes to `<package>/test-results/vitest.json` (see tooling/vitest-config). The
// reports are turbo outputs, so a task replayed from the cache still counts. A package that has a test
// script but no report, or a test file that failed to load (no failed test inside, yet failed), counts
// as one failure each. Exits 1 when anything failed or no test ran.
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { root } from "./pnpm.mjs";
import { workspacePackages } from "./workspace.mjs";

/** Sums the reports of every workspace package with a `test` script. */
export function summarize(dir = root) {
  const totals = { passed: 0, failed: 0, skipped: 0, reports: 0, problems: [] };
  for (const pkg of workspacePackages(dir)) {
    if (pkg.manifest.scripts?.test === undefined) continue;
    const file = join(pkg.dir, "test-results", "vitest.json");
    if (!existsSync(file)) {
      totals.failed++;
      totals.problems.push(`${pkg.manifest.name}: no test report (${relative(dir, file)})`);
      continue;
    }
    const report = JSON.parse(readFileSync(file, "utf8"));
    totals.reports++;
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
    for (const suite of report.testResults) {
      const failedInside = suite.assertionResults.some((test) => test.status === "failed");
      if (suite.status === "failed" && !failedInside) {
        totals.failed++;
        totals.problems.push(
          `${pkg.manifest.name}: ${relative(pkg.dir, suite.name)} failed to run: ${suite.message}`,
        );
      }
    }
  }
  return totals;
}

/** The closing line CI reads. */
export function closingLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const totals = summarize();
  for (const problem of totals.problems) console.log(`test summary: ${problem}`);
  console.log(`\ntest reports read: ${totals.reports}`);
  console.log(closingLine(totals));
  if (totals.passed === 0 || totals.failed > 0) process.exit(1);
}
