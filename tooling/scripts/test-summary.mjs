#!/usr/bin/env node
// Sums the "Tests  N passed | M failed" lines that every package's Vitest run prints (turbo prefixes
// and colours are stripped) and prints one plain "N passed, M failed" line. Exits 1 when no test ran.
import { readFileSync } from "node:fs";

const log = readFileSync(process.argv[2] ?? 0, "utf8").replace(/\x1b\[[0-9;]*m/g, "");
let passed = 0;
let failed = 0;
let skipped = 0;
let runs = 0;
for (const line of log.split("\n")) {
  const match = /\bTests\s+(.*\(\d+\))\s*$/.exec(line);
  if (!match) continue;
  runs++;
  const counts = match[1];
  passed += Number(/(\d+) passed/.exec(counts)?.[1] ?? 0);
  failed += Number(/(\d+) failed/.exec(counts)?.[1] ?? 0);
  skipped += Number(/(\d+) skipped/.exec(counts)?.[1] ?? 0);
}
console.log(`\nvitest runs: ${runs}`);
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
if (passed === 0 || failed > 0) process.exit(1);
