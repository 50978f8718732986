#!/usr/bin/env node
// `npm run playground [-- options]`: installs the workspace, builds the playground and what it depends
// on, then runs the playground CLI with the given options (so `-- --help` reaches the CLI, not pnpm).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pnpm, root } from "./pnpm.mjs";

// Build only what this run loads (the playground imports adapter packages on demand): core and the
// playground always, the adapter of `--adapter`, @netmesh/metrics for `--dashboard` and
// @netmesh/replication-metrics for `--replica`. A plain
// `npm run playground` (memory) so builds two packages, not every adapter.
const args = process.argv.slice(2);
const flag = (name) => {
  const at = args.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (at < 0) return undefined;
  return args[at].includes("=") ? args[at].slice(name.length + 1) : args[at + 1];
};
const packages = ["@netmesh/core", "@netmesh/playground"];
const adapter = flag("--adapter");
if (["noop", "redis", "jetstream", "kinesis"].includes(adapter)) packages.push(`@netmesh/adapter-${adapter}`);
if (args.includes("--dashboard")) packages.push("@netmesh/metrics");
if (args.includes("--replica")) packages.push("@netmesh/replication-metrics");
const steps = [
  ["install", "--frozen-lockfile"],
  ["exec", "turbo", "run", "build", "--only", ...packages.map((name) => `--filter=${name}`), "--output-logs=errors-only"],
];
for (const step of steps) {
  const status = pnpm(step);
  if (status !== 0) process.exit(status);
}
const cli = spawnSync(process.execPath, [join(root, "apps/playground/dist/cli.js"), ...args], {
  stdio: "inherit",
});
process.exit(cli.status ?? 1);
