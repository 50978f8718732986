// The workspace's packages, read the way pnpm reads them (pnpm-workspace.yaml's `packages` globs, one
// directory level each: "packages/*", "apps/*", "tooling/*").
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** `{ dir, manifest }` of every workspace package under `root`, in a stable order. */
export function workspacePackages(root) {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  const globs = [...yaml.matchAll(/^\s*-\s*["']?([^"'\s]+)["']?\s*$/gm)].map((match) => match[1]);
  const packages = [];
  for (const glob of globs) {
    if (!glob.endsWith("/*"))
      throw new Error(`pnpm-workspace.yaml: only "dir/*" globs are understood, not ${glob}`);
    const parent = join(root, glob.slice(0, -2));
    for (const name of readdirSync(parent).sort()) {
      const file = join(parent, name, "package.json");
      if (existsSync(file))
        packages.push({ dir: join(parent, name), manifest: JSON.parse(readFileSync(file, "utf8")) });
    }
  }
  return packages;
}
