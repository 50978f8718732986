#!/usr/bin/env node
// Runs the pnpm version pinned in the root package.json without relying on corepack, whose
// signature check fails on this project's machines. `npx` fetches (and caches) that exact version.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Runs the pinned pnpm with `args` in `cwd` (the repository root unless given), its output to `stdio`;
 * returns its exit status.
 * From the command line it runs in the current directory, as pnpm itself does, so
 * `node ../../tooling/scripts/pnpm.mjs pack` inside a package packs that package.
 */
export function pnpm(args, cwd = root, { stdio = "inherit" } = {}) {
  const { packageManager } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const match = /^pnpm@(\d+\.\d+\.\d+)/.exec(packageManager ?? "");
  if (!match) {
    console.error(`package.json "packageManager" must pin pnpm (found ${JSON.stringify(packageManager)})`);
    return 1;
  }
  const result = spawnSync("npx", ["--yes", `pnpm@${match[1]}`, ...args], {
    cwd,
    stdio,
    env: { ...process.env, COREPACK_ENABLE_STRICT: "0" },
  });
  return result.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exit(pnpm(process.argv.slice(2), process.cwd()));
}
