import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { publishedPackages, root, workspacePackages } from "./support/repo.js";

const published = publishedPackages().map((pkg) => [pkg.manifest.name, pkg] as const);
const rootLicense = readFileSync(join(root, "LICENSE"), "utf8");

describe("published packages", () => {
  it("are the eight libraries", () => {
    expect(published.map(([name]) => name).sort()).toEqual([
      "@netmesh/adapter-jetstream",
      "@netmesh/adapter-kinesis",
      "@netmesh/adapter-noop",
      "@netmesh/adapter-redis",
      "@netmesh/adapter-testkit",
      "@netmesh/core",
      "@netmesh/metrics",
      "@netmesh/replication-metrics",
    ]);
  });

  it.each(published)("%s carries the MIT licence of the repository", (_, pkg) => {
    expect(rootLicense).toMatch(/^MIT License\n/);
    expect(readFileSync(join(pkg.dir, "LICENSE"), "utf8")).toBe(rootLicense);
    expect(pkg.manifest.license).toBe("MIT");
    expect(pkg.manifest.files).toContain("LICENSE");
  });

  it.each(published)("%s names its repository, homepage, bugs, keywords and author", (_, pkg) => {
    const { repository, homepage, bugs, keywords, author } = pkg.manifest;
    const directory = pkg.dir.slice(root.length + 1);
    expect(repository).toEqual({
      type: "git",
      url: expect.stringMatching(/^git\+https:\/\/.+\.git$/),
      directory,
    });
    expect(homepage).toMatch(/^https:\/\//);
    expect(bugs?.url).toMatch(/^https:\/\//);
    expect(keywords?.length).toBeGreaterThan(0);
    expect(author).toBeTruthy();
  });

  it.each(published)("%s has a README that stands alone (no link into the repository's tree)", (_, pkg) => {
    const readme = readFileSync(join(pkg.dir, "README.md"), "utf8");
    const relative = [...readme.matchAll(/\]\((?!https?:|#|mailto:)([^)]+)\)/g)].map((match) => match[1]);
    expect(relative).toEqual([]);
  });

  it.each(published)(
    "%s takes @netmesh/core as a peer (one core per application), never a dependency",
    (name, pkg) => {
      if (name === "@netmesh/core") return;
      const { dependencies = {}, peerDependencies = {}, devDependencies = {} } = pkg.manifest;
      expect(dependencies["@netmesh/core"]).toBeUndefined();
      const sources = spawnSync("grep", ["-rl", 'from "@netmesh/core', join(pkg.dir, "src")], {
        encoding: "utf8",
      });
      if (sources.stdout.trim() === "") {
        expect(peerDependencies["@netmesh/core"]).toBeUndefined();
        return;
      }
      expect(peerDependencies["@netmesh/core"]).toBe("workspace:^");
      expect(devDependencies["@netmesh/core"]).toBe("workspace:^");
    },
  );

  it.each(published)(
    "%s gives its registry dependencies ranges (the nats.js pin is explained)",
    (name, pkg) => {
      const exact = Object.entries(pkg.manifest.dependencies ?? {}).filter(([, range]) => /^\d/.test(range));
      if (name !== "@netmesh/adapter-jetstream") {
        expect(exact).toEqual([]);
        return;
      }
      expect(exact.map(([dependency]) => dependency).sort()).toEqual([
        "@nats-io/jetstream",
        "@nats-io/nats-core",
        "@nats-io/transport-node",
      ]);
      const readme = readFileSync(join(pkg.dir, "README.md"), "utf8");
      expect(readme).toContain("pinned at exactly 3.4.0");
      expect(readme).toContain("`MsgHdrsImpl`");
    },
  );
});

describe("the repository", () => {
  it("has a release script that builds, then publishes with changesets", () => {
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(manifest.scripts.release).toBe("turbo run build && changeset publish");
  });

  it("has an .npmrc npm reads without a warning", () => {
    const npm = spawnSync("npm", ["config", "get", "engine-strict"], { cwd: root, encoding: "utf8" });
    expect(npm.status).toBe(0);
    expect(npm.stderr).not.toMatch(/Unknown (project|user|global) config/);
  });

  it("runs the pnpm wrapper in the current directory", () => {
    const core = workspacePackages().find((pkg) => pkg.manifest.name === "@netmesh/core")!;
    const pnpm = spawnSync(
      process.execPath,
      [join(root, "tooling/scripts/pnpm.mjs"), "exec", "node", "-p", "process.cwd()"],
      { cwd: core.dir, encoding: "utf8" },
    );
    expect(pnpm.status).toBe(0);
    expect(pnpm.stdout.trim().split("\n").at(-1)).toBe(core.dir);
  });
});
