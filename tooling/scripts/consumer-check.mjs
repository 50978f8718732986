#!/usr/bin/env node
// `pnpm consumer-check`: what a user of the registry gets, checked on the packed tarballs.
//   1. Builds and packs every published package (pnpm pack: workspace ranges become real ones).
//   2. publint and @arethetypeswrong/cli over every tarball (attw's profile: "esm-only" for the
//      ESM-only testkit, "strict" for the rest); any finding fails the check.
//   3. `npm init`s a consumer in a temporary directory, installs all the tarballs with vitest 4 (and
//      the peers an application brings: ioredis, prom-client, @opentelemetry/api), and typechecks a
//      file that uses every entry point under moduleResolution node16, nodenext and bundler (ESM and,
//      where a package has a require condition, CommonJS), plus node10 for the CommonJS entry points.
//      It runs the README's quick start as plain JavaScript against the installed core.
//   4. Installs vitest 5 in the same consumer and typechecks again (vitest 5 needs Node 22 to run; the
//      testkit's types must work with it all the same).
// Needs the npm registry. Prints each step's time; exits 1 on the first failure.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pnpm, root } from "./pnpm.mjs";
import { workspacePackages } from "./workspace.mjs";

const started = performance.now();
const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
const bin = (name) => join(root, "node_modules", ".bin", name);
const work = mkdtempSync(join(tmpdir(), "netmesh-consumer-"));
const keep = process.argv.includes("--keep");

function step(title, fn) {
  const at = performance.now();
  process.stdout.write(`consumer check: ${title} …\n`);
  fn();
  process.stdout.write(`consumer check: ${title}: ok (${seconds(at)})\n`);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
    throw new Error(`${command} ${args.join(" ")} failed (exit ${result.status}):\n${output}`);
  }
  return result.stdout;
}

const published = workspacePackages(root).filter((pkg) => pkg.manifest.private !== true);
const tarballs = new Map();

try {
  step("build", () => {
    const build = ["exec", "turbo", "run", "build", "--filter=./packages/*", "--output-logs=errors-only"];
    if (pnpm(build) !== 0) throw new Error("build failed");
  });

  step(`pack ${published.length} packages`, () => {
    const out = join(work, "tarballs");
    mkdirSync(out);
    for (const pkg of published) {
      const status = pnpm(["pack", "--pack-destination", out], pkg.dir, { stdio: "ignore" });
      if (status !== 0) throw new Error(`pnpm pack failed in ${pkg.dir}`);
    }
    for (const pkg of published) {
      const prefix = pkg.manifest.name.replace("@", "").replace("/", "-");
      const file = readdirSync(out).find((name) => name.startsWith(`${prefix}-`) && name.endsWith(".tgz"));
      if (file === undefined) throw new Error(`no tarball for ${pkg.manifest.name}`);
      tarballs.set(pkg.manifest.name, join(out, file));
    }
  });

  step("tarball contents (LICENSE, README, dist; no sources or tests)", () => {
    for (const [name, tarball] of tarballs) {
      const files = run("tar", ["-tzf", tarball]).split("\n").filter(Boolean);
      for (const required of ["package/LICENSE", "package/README.md", "package/package.json"]) {
        if (!files.includes(required)) throw new Error(`${name}: ${required} is not in the tarball`);
      }
      const stray = files.filter((file) => /^package\/(src|test|bench)\//.test(file));
      if (stray.length > 0) throw new Error(`${name}: the tarball holds ${stray.join(", ")}`);
      const manifest = JSON.parse(run("tar", ["-xzOf", tarball, "package/package.json"]));
      const ranges = { ...manifest.dependencies, ...manifest.peerDependencies };
      const workspace = Object.entries(ranges).filter(([, range]) => String(range).startsWith("workspace:"));
      if (workspace.length > 0)
        throw new Error(`${name}: workspace ranges in the tarball: ${JSON.stringify(workspace)}`);
    }
  });

  step("publint", () => {
    for (const [name, tarball] of tarballs) {
      const output = run(bin("publint"), ["run", tarball, "--strict", "--level", "suggestion"]);
      if (!/All good!/.test(output)) throw new Error(`publint ${name}:\n${output}`);
    }
  });

  step("attw", () => {
    for (const [name, tarball] of tarballs) {
      const manifest = published.find((pkg) => pkg.manifest.name === name).manifest;
      const esmOnly = JSON.stringify(manifest.exports).includes('"require"') === false;
      run(bin("attw"), [tarball, "--profile", esmOnly ? "esm-only" : "strict", "--format", "ascii"]);
    }
  });

  const consumer = join(work, "consumer");
  step("npm init a consumer and install the tarballs with vitest 4", () => {
    mkdirSync(consumer);
    run("npm", ["init", "-y"], { cwd: consumer });
    const manifest = JSON.parse(readFileSync(join(consumer, "package.json"), "utf8"));
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ ...manifest, type: "module" }, null, 2));
    npmInstall(consumer, [
      ...tarballs.values(),
      "vitest@^4.1.12",
      "typescript@5.9.3",
      "@types/node@^20.19.0",
      "ioredis@^6.0.0",
      "prom-client@^15.1.3",
      "@opentelemetry/api@^1.9.0",
    ]);
    writeConsumerFiles(consumer);
  });

  step("typecheck with vitest 4 (node16, nodenext, bundler, node10)", () => typecheck(consumer));

  step("the README's quick start runs as plain JavaScript", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const quickStart = /## Usage\n\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    if (quickStart === undefined) throw new Error("no quick start in the README");
    writeFileSync(join(consumer, "quick-start.mjs"), quickStart);
    const output = run(process.execPath, ["quick-start.mjs"], { cwd: consumer });
    if (!output.includes("ingested: 3, dispatched: 3, dropped: 0"))
      throw new Error(`unexpected output:\n${output}`);
  });

  step("install vitest 5 and typecheck again", () => {
    // vitest 5 needs Node 22 (and peers on @types/node 22+): a project on vitest 5 is a Node 22 one.
    npmInstall(consumer, ["vitest@^5.0.0", "@types/node@^22.0.0", "--engine-strict=false"]);
    const installed = JSON.parse(readFileSync(join(consumer, "node_modules/vitest/package.json"), "utf8"));
    if (!installed.version.startsWith("5.")) throw new Error(`vitest ${installed.version} installed, not 5`);
    typecheck(consumer);
  });

  console.log(`consumer check: all good (${seconds(started)})`);
} catch (error) {
  console.error(`consumer check: FAILED: ${error.message}`);
  console.error(`consumer check: files kept in ${work}`);
  process.exitCode = 1;
} finally {
  if (process.exitCode !== 1 && !keep) rmSync(work, { recursive: true, force: true });
}

function npmInstall(dir, specs) {
  // --no-audit/--no-fund: no extra registry calls; a peer conflict (ERESOLVE) fails the step.
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...specs], { cwd: dir });
}

/** The consumer's sources and one tsconfig per module resolution. */
function writeConsumerFiles(dir) {
  // What every resolution checks (CommonJS too: everything but the ESM-only testkit has a require
  // condition), then what the ESM file adds.
  const shared = `import { createBus, MemoryAdapter, type IngestStatus } from "@netmesh/core";
import { ADAPTER_SPEC_VERSION, type Adapter, type AdapterBase, type Batch } from "@netmesh/core/adapter";
import { JetStreamAdapter } from "@netmesh/adapter-jetstream";
import { KinesisAdapter } from "@netmesh/adapter-kinesis";
import { NoopAdapter } from "@netmesh/adapter-noop";
import { RedisAdapter } from "@netmesh/adapter-redis";
import { collectBusMetrics } from "@netmesh/metrics";
import { collectBusMetricsOtel } from "@netmesh/metrics/otel";
import { ReplicationMetricsRegistry } from "@netmesh/replication-metrics";

export const adapters: Adapter[] = [
  new MemoryAdapter(),
  new NoopAdapter(),
  new RedisAdapter({ url: "redis://127.0.0.1:6379" }),
  new JetStreamAdapter({ url: "nats://127.0.0.1:4222" }),
  new KinesisAdapter({ streamName: "events" }),
];
export const spec: number = ADAPTER_SPEC_VERSION;
export type Base = AdapterBase;
export type Events = Batch["events"];
export const collectors = [collectBusMetrics, collectBusMetricsOtel];

export async function main(): Promise<IngestStatus> {
  const bus = await createBus({ adapter: new MemoryAdapter() });
  new ReplicationMetricsRegistry();
  const status = bus.ingest({ hello: "world" }, { key: "k" });
  await bus.shutdown();
  return status;
}
`;
  const esm = `${shared}
import { runAdapterConformance } from "@netmesh/adapter-testkit";

runAdapterConformance({ name: "noop", create: () => new NoopAdapter() });
`;
  const cjs = shared;
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src", "esm.mts"), esm);
  writeFileSync(join(dir, "src", "cjs.cts"), cjs);
  mkdirSync(join(dir, "node10"));
  writeFileSync(join(dir, "node10", "index.ts"), cjs);
  const common = {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    target: "ES2022",
    lib: ["ES2023"],
    types: ["node"],
  };
  const configs = {
    node16: { module: "node16", moduleResolution: "node16", files: ["src/esm.mts", "src/cjs.cts"] },
    nodenext: { module: "nodenext", moduleResolution: "nodenext", files: ["src/esm.mts", "src/cjs.cts"] },
    bundler: { module: "esnext", moduleResolution: "bundler", files: ["src/esm.mts"] },
    node10: { module: "commonjs", moduleResolution: "node10", files: ["node10/index.ts"] },
  };
  for (const [name, { files, ...options }] of Object.entries(configs)) {
    const config = { compilerOptions: { ...common, ...options }, files };
    writeFileSync(join(dir, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
  }
}

/**
 * Runs tsc under every resolution. `skipLibCheck` is off so that our declaration files are checked in
 * full; errors inside other packages' declarations (ioredis's, which imports the untyped
 * `redis-errors`) say nothing about ours and are counted, not failed on.
 */
function typecheck(dir) {
  const tsc = join(dir, "node_modules", ".bin", "tsc");
  for (const name of ["node16", "nodenext", "bundler", "node10"]) {
    const result = spawnSync(tsc, ["-p", `tsconfig.${name}.json`], { cwd: dir, encoding: "utf8" });
    const errors = `${result.stdout}${result.stderr}`
      .split("\n")
      .filter((line) => /^\S+\(\d+,\d+\): error/.test(line));
    const ours = errors.filter(
      (line) => !line.startsWith("node_modules/") || line.startsWith("node_modules/@netmesh/"),
    );
    if (ours.length > 0 || (result.status !== 0 && errors.length === 0)) {
      throw new Error(`tsc (${name}) failed:\n${ours.join("\n") || result.stdout + result.stderr}`);
    }
    const others = errors.length === 0 ? "" : ` (${errors.length} in third-party declarations, not ours)`;
    console.log(`consumer check:   tsc ${name}: no error in our code or declarations${others}`);
  }
}
