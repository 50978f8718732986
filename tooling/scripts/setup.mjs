#!/usr/bin/env node
// `npm run setup` (and the first step of `npm test`): prepares this machine for the tests, explicitly,
// so that no test ever changes the host. It installs with apt what is missing (one `apt-get update`,
// one `apt-get install`) and starts the shared servers that are not running:
//   - redis-server on 127.0.0.1:6379 (no persistence),
//   - nats-server with JetStream on 127.0.0.1:4222,
//   - Debian's chromium at /usr/bin/chromium (the playground's browser test drives it).
// Idempotent: when everything is there it only checks, in well under a second.
// REDIS_URL / NATS_URL point the tests at servers of your own; then the shared one is not started.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOST, binaryPath, hasBinary, isListening, natsInfo, waitForPort } from "../test-backends/index.js";

const REDIS_PORT = 6379;
const NATS_PORT = 4222;
const CHROMIUM = "/usr/bin/chromium";

/** What the tests need on the machine: how to tell it is there, and the Debian package that brings it. */
const requirements = [
  { what: "redis-server", present: () => hasBinary("redis-server"), aptPackage: "redis-server" },
  { what: "nats-server", present: () => hasBinary("nats-server"), aptPackage: "nats-server" },
  { what: CHROMIUM, present: () => existsSync(CHROMIUM), aptPackage: "chromium" },
];

function fail(message) {
  console.error(`set-up: ${message}`);
  process.exit(1);
}

function install(packages) {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    fail(
      `missing ${packages.join(", ")}; install them as root (sudo sh -c '${command}'), then run this again`,
    );
  }
  console.log(`set-up: installing ${packages.join(", ")} with apt`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], {
    stdio: "inherit",
    env,
  });
}

async function startRedis() {
  if (await isListening(REDIS_PORT)) return "running";
  const args = [
    "--daemonize",
    "yes",
    "--bind",
    HOST,
    "--port",
    String(REDIS_PORT),
    "--save",
    "",
    "--appendonly",
    "no",
  ];
  execFileSync(binaryPath("redis-server"), args, { stdio: "ignore" });
  await waitForPort(REDIS_PORT, 10_000, "redis-server");
  return "started";
}

async function startNats() {
  const info = await natsInfo(NATS_PORT);
  if (info !== undefined) {
    if (info.jetstream !== true)
      fail(`the nats-server on ${HOST}:${NATS_PORT} runs without JetStream; restart it with -js`);
    return "running";
  }
  if (await isListening(NATS_PORT))
    fail(`${HOST}:${NATS_PORT} is taken by something that is not a nats-server`);
  const storeDir = join(tmpdir(), "netmesh-nats-shared");
  mkdirSync(storeDir, { recursive: true });
  const child = spawn(
    binaryPath("nats-server"),
    ["-a", HOST, "-p", String(NATS_PORT), "-js", "-sd", storeDir],
    {
      detached: true,
      stdio: "ignore",
    },
  );
  child.unref();
  await waitForPort(NATS_PORT, 10_000, "nats-server");
  if ((await natsInfo(NATS_PORT))?.jetstream !== true) fail("the nats-server started without JetStream");
  return "started";
}

const missing = requirements.filter((requirement) => !requirement.present());
if (missing.length > 0) {
  install(missing.map((requirement) => requirement.aptPackage));
  const still = missing.filter((requirement) => !requirement.present());
  if (still.length > 0)
    fail(`apt did not provide ${still.map((requirement) => requirement.what).join(", ")}`);
}

const redis = !process.env.REDIS_URL ? `${await startRedis()} on ${HOST}:${REDIS_PORT}` : "REDIS_URL";
const nats = !process.env.NATS_URL ? `${await startNats()} on ${HOST}:${NATS_PORT}` : "NATS_URL";
console.log(`set-up: redis-server ${redis}, nats-server (JetStream) ${nats}, chromium at ${CHROMIUM}`);
