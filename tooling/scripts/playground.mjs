#!/usr/bin/env node
// `npm run playground [-- options]`: installs the workspace, builds the playground and what it depends
// on, then runs the playground CLI with the given options (so `-- --help` reaches the CLI, not pnpm).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pnpm, root } from "./pnpm.mjs";

const steps = [
  ["install", "--frozen-lockfile"],
  ["exec", "turbo", "run", "build", "--filter=@netmesh/playground...", "--output-logs=errors-only"],
];
for (const step of steps) {
  const status = pnpm(step);
  if (status !== 0) process.exit(status);
}
const cli = spawnSync(process.execPath, [join(root, "apps/playground/dist/cli.js"), ...process.argv.slice(2)], {
  stdio: "inherit",
});
process.exit(cli.status ?? 1);
