#!/usr/bin/env node
// CI check: every published package changed since the base commit is released by a changeset added
// since then. It runs `changeset status --since <base>` (which fails when packages changed and no
// changeset at all was added) and then checks, package by package, that each changed one is in the
// release plan of the new changesets.
//
// The base, first match wins:
//   1. $CHANGESET_BASE, when CI knows the target of the change (a pull request's base);
//   2. the merge base with origin/main (or main) when HEAD is not on it: a branch, all its commits;
//   3. HEAD^1 when HEAD is on main: the last change that landed there. For the merge commit of a
//      branch that is the whole branch; a fresh clone of main has nothing else to compare to.
// With no base at all (a single commit, a shallow clone) the check says so and passes: there is no
// change to judge. Only files that reach users count as a change (`changedFilePatterns` in
// .changeset/config.json: sources, package.json, README, LICENSE), so a test-only change needs none.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "./pnpm.mjs";

function git(...args) {
  const result = spawnSync("git", args, { cwd: root, encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The commit to compare HEAD with, and why; `undefined` when there is none. */
export function baseCommit(env = process.env) {
  if (env.CHANGESET_BASE) {
    const sha = git("rev-parse", "--verify", "--quiet", `${env.CHANGESET_BASE}^{commit}`);
    if (sha === undefined) throw new Error(`CHANGESET_BASE=${env.CHANGESET_BASE} is not a commit here`);
    return { sha, why: `CHANGESET_BASE (${env.CHANGESET_BASE})` };
  }
  const head = git("rev-parse", "HEAD");
  for (const main of ["origin/main", "main"]) {
    if (git("rev-parse", "--verify", "--quiet", `${main}^{commit}`) === undefined) continue;
    const mergeBase = git("merge-base", "HEAD", main);
    if (mergeBase !== undefined && mergeBase !== head)
      return { sha: mergeBase, why: `merge base with ${main}` };
    break;
  }
  const parent = git("rev-parse", "--verify", "--quiet", "HEAD^1");
  return parent === undefined ? undefined : { sha: parent, why: "HEAD^1 (the last change on main)" };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const base = baseCommit();
  if (base === undefined) {
    console.log("changeset check: no base commit to compare with (single commit or shallow clone): skipped");
    process.exit(0);
  }
  console.log(`changeset check: changes since ${base.sha.slice(0, 12)}, the ${base.why}`);
  const dir = mkdtempSync(join(tmpdir(), "netmesh-changesets-"));
  const out = join(dir, "plan.json");
  const status = spawnSync(
    process.execPath,
    [join(root, "node_modules/@changesets/cli/bin.js"), "status", `--since=${base.sha}`, `--output=${out}`],
    { cwd: root, stdio: "inherit" },
  );
  if (status.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    console.error(
      "changeset check: failed (add a changeset: pnpm changeset; `pnpm changeset --empty` when no release is needed)",
    );
    process.exit(1);
  }
  const plan = JSON.parse(readFileSync(out, "utf8"));
  rmSync(dir, { recursive: true, force: true });
  const released = new Set(
    plan.changesets.flatMap((changeset) => changeset.releases.map((release) => release.name)),
  );
  const changed = await changedPackages(base.sha);
  const missing = changed.filter((name) => !released.has(name));
  console.log(`changeset check: changed ${changed.length ? changed.join(", ") : "no published package"}`);
  if (missing.length > 0) {
    console.error(
      `changeset check: no changeset since the base releases ${missing.join(", ")} (add one: pnpm changeset)`,
    );
    process.exit(1);
  }
}

/** Published packages with user-visible files changed since `sha`, as changesets itself sees them. */
async function changedPackages(sha) {
  const cli = createRequire(join(realpathSync(join(root, "node_modules/@changesets/cli")), "package.json"));
  const { getChangedPackagesSinceRef } = cli("@changesets/git");
  const { read } = cli("@changesets/config");
  const { getPackages } = cli("@manypkg/get-packages");
  const packages = await getPackages(root);
  const config = await read(root, packages);
  const changed = await getChangedPackagesSinceRef({
    cwd: root,
    ref: sha,
    changedFilePatterns: config.changedFilePatterns,
  });
  return changed
    .map((pkg) => pkg.packageJson)
    .filter((manifest) => !manifest.private && !config.ignore.includes(manifest.name))
    .map((manifest) => manifest.name)
    .sort();
}
