import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { root, workspacePackages } from "./support/repo.js";

// A cached task is replayed when its inputs hash the same, so a file a test reads but turbo does not
// hash can change without the test running again: a stale pass. These checks make that impossible to
// reintroduce silently: every file a test demonstrably reads must be among the inputs turbo hashes for
// that package's `test` task (as `turbo run test --dry=json` reports them).

interface DryTask {
  taskId: string;
  package: string;
  task: string;
  directory: string;
  command: string;
  inputs: Record<string, string>;
}

function dryRun(task: string): DryTask[] {
  const turbo = join(root, "node_modules", ".bin", "turbo");
  const json = execFileSync(turbo, ["run", task, "--dry=json"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  const tasks = (JSON.parse(json) as { tasks: DryTask[] }).tasks;
  return tasks.filter((entry) => entry.task === task && entry.command !== "<NONEXISTENT>");
}

/** Absolute paths of the files a task hashes. */
function hashedFiles(task: DryTask): Set<string> {
  return new Set(Object.keys(task.inputs).map((file) => resolve(root, task.directory, file)));
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : filesUnder(path);
    return /\.(c|m)?[jt]s$/.test(entry.name) ? [path] : [];
  });
}

/** The source files of a package's test run: tests, their support files, examples, the vitest config. */
function testSources(dir: string): string[] {
  const configs = readdirSync(dir)
    .filter((name) => /^vitest\.config\.[cm]?[jt]s$/.test(name))
    .map((name) => join(dir, name));
  return [...filesUnder(join(dir, "test")), ...filesUnder(join(dir, "examples")), ...configs];
}

/**
 * Files a source names by a relative path in a string literal (a `new URL(…, import.meta.url)`, a
 * `readFile(…)` argument, a relative import): each literal is resolved
 * against the file's directory, then against the package directory, and kept when that file exists.
 */
function referencedFiles(file: string, packageDir: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = new Set<string>();
  for (const match of text.matchAll(/["'`](\.{1,2}\/[^"'`\s$]+)["'`]/g)) {
    const literal = match[1]!;
    for (const base of [dirname(file), packageDir]) {
      const candidates = [resolve(base, literal), resolve(base, literal.replace(/\.js$/, ".ts"))];
      const hit = candidates.find((path) => existsSync(path) && statSync(path).isFile());
      if (hit !== undefined) {
        found.add(hit);
        break;
      }
    }
  }
  return [...found];
}

const inside = (path: string, dir: string) => path === dir || path.startsWith(dir + sep);

describe("turbo inputs of the test task", () => {
  const tasks = dryRun("test");
  const packages = workspacePackages().filter((pkg) => pkg.manifest.scripts?.test !== undefined);

  it("exist for every package with a test script", () => {
    expect(tasks.map((task) => task.package).sort()).toEqual(packages.map((pkg) => pkg.manifest.name).sort());
  });

  it.each(packages.map((pkg) => [pkg.manifest.name, pkg] as const))(
    "%s: every file its tests read outside the package is an input",
    (name, pkg) => {
      const task = tasks.find((entry) => entry.package === name)!;
      const hashed = hashedFiles(task);
      const outside = testSources(pkg.dir)
        .flatMap((file) => referencedFiles(file, pkg.dir).map((target) => ({ file, target })))
        .filter(({ target }) => !inside(target, pkg.dir));
      const missing = outside
        .filter(({ target }) => !hashed.has(target))
        .map(({ file, target }) => `${relative(root, file)} reads ${relative(root, target)}`);
      expect(missing, `not in ${name}#test's turbo inputs`).toEqual([]);
    },
  );

  it.each(packages.map((pkg) => [pkg.manifest.name, pkg] as const))(
    "%s: every file of the package itself is an input",
    (name, pkg) => {
      const task = tasks.find((entry) => entry.package === name)!;
      const hashed = hashedFiles(task);
      const missing = testSources(pkg.dir).filter((file) => !hashed.has(file));
      expect(missing.map((file) => relative(root, file))).toEqual([]);
    },
  );

  it.each(packages.map((pkg) => [pkg.manifest.name, pkg] as const))(
    "%s: every workspace package its tests import without a build is an input, file by file",
    (name, pkg) => {
      const task = tasks.find((entry) => entry.package === name)!;
      const hashed = hashedFiles(task);
      const byName = new Map(workspacePackages().map((other) => [other.manifest.name, other]));
      const imported = new Set(
        testSources(pkg.dir).flatMap((file) =>
          [...readFileSync(file, "utf8").matchAll(/from "(@netmesh\/[a-z-]+)/g)].map((match) => match[1]!),
        ),
      );
      // A package with a build reaches the task through `dependsOn: ["^build"]` (its build's hash);
      // one without (the tooling packages) only through the task's own inputs.
      const used = [...imported]
        .map((dependency) => byName.get(dependency))
        .filter((other) => other !== undefined && other.manifest.scripts?.build === undefined);
      const missing = used.flatMap((other) =>
        readdirSync(other!.dir)
          .map((file) => join(other!.dir, file))
          .filter((file) => statSync(file).isFile() && !hashed.has(file))
          .map((file) => relative(root, file)),
      );
      expect(missing).toEqual([]);
    },
  );
});

describe("the reference scan", () => {
  it("finds a repository file named relative to a test file, as the core README test names it", () => {
    const core = workspacePackages().find((pkg) => pkg.manifest.name === "@netmesh/core")!;
    const found = referencedFiles(join(core.dir, "test", "examples.test.ts"), core.dir);
    expect(found).toContain(join(root, "README.md"));
  });
});
