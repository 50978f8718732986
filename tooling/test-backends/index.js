// Real backends for adapter tests, never mocks. Everything listens on 127.0.0.1 only.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HOST = "127.0.0.1";
const children = new Set();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

/** Resolves true when something accepts TCP connections on HOST:port within `ms`. */
export function isListening(port, ms = 500) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function waitForPort(port, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await isListening(port, 200)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not start listening on ${HOST}:${port} within ${ms} ms`);
}

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function hasBinary(binary) {
  try {
    execFileSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Makes sure `binary` is on the PATH, installing Debian's `aptPackage` when it is not (as root). */
export function ensureBinary(binary, aptPackage) {
  if (hasBinary(binary)) return;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new Error(`${binary} is not installed; run: sudo apt-get install -y ${aptPackage}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", aptPackage], { stdio: "inherit", env });
  if (!hasBinary(binary)) throw new Error(`installing ${aptPackage} did not provide ${binary}`);
}

function binaryPath(binary) {
  return execFileSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).trim();
}

/** Starts the shared Redis on 127.0.0.1:6379 unless it already runs; resolves its URL. */
export async function ensureRedis(port = 6379) {
  if (!(await isListening(port))) {
    ensureBinary("redis-server", "redis-server");
    execFileSync(binaryPath("redis-server"), [
      "--daemonize", "yes", "--bind", HOST, "--port", String(port), "--save", "", "--appendonly", "no",
    ]);
    await waitForPort(port, 10_000, "redis-server");
  }
  return `redis://${HOST}:${port}`;
}

/** Starts the shared nats-server with JetStream on 127.0.0.1:4222 unless it already runs; resolves its URL. */
export async function ensureNats(port = 4222) {
  if (!(await isListening(port))) {
    ensureBinary("nats-server", "nats-server");
    const storeDir = join(tmpdir(), "netmesh-nats-shared");
    const child = spawn(binaryPath("nats-server"), ["-a", HOST, "-p", String(port), "-js", "-sd", storeDir], {
      detached: true,
      stdio: "ignore",
    });
    child.unref();
    await waitForPort(port, 10_000, "nats-server");
  }
  return `nats://${HOST}:${port}`;
}

/**
 * A server of our own on a free loopback port, for tests that kill or restart it. `restart()` keeps the
 * port (and, for NATS, the JetStream store). `stop()` removes everything.
 */
class PrivateServer {
  constructor(name, binary, argsFor, url, port, cleanup) {
    this.name = name;
    this.binary = binary;
    this.argsFor = argsFor;
    this.url = url;
    this.port = port;
    this.cleanup = cleanup;
    this.child = undefined;
  }

  async start() {
    const child = spawn(this.binary, this.argsFor(this.port), { stdio: "ignore" });
    children.add(child);
    child.once("exit", () => children.delete(child));
    this.child = child;
    await waitForPort(this.port, 10_000, this.name);
  }

  /** Kills the server at once (SIGKILL): connections drop without goodbye. */
  async kill() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.child = undefined;
  }

  /** Kills and starts it again on the same port. */
  async restart() {
    await this.kill();
    await this.start();
  }

  /** Kills it and removes its files. */
  async stop() {
    await this.kill();
    this.cleanup();
  }
}

/** Starts a private redis-server (no persistence) on a free loopback port. */
export async function startRedis() {
  ensureBinary("redis-server", "redis-server");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "netmesh-redis-"));
  const server = new PrivateServer(
    "redis-server",
    binaryPath("redis-server"),
    (p) => ["--bind", HOST, "--port", String(p), "--save", "", "--appendonly", "no", "--dir", dir],
    `redis://${HOST}:${port}`,
    port,
    () => rmSync(dir, { recursive: true, force: true }),
  );
  await server.start();
  return server;
}

/** Starts a private nats-server with JetStream (its own store directory) on a free loopback port. */
export async function startNats() {
  ensureBinary("nats-server", "nats-server");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "netmesh-nats-"));
  const server = new PrivateServer(
    "nats-server",
    binaryPath("nats-server"),
    (p) => ["-a", HOST, "-p", String(p), "-js", "-sd", dir],
    `nats://${HOST}:${port}`,
    port,
    () => rmSync(dir, { recursive: true, force: true }),
  );
  await server.start();
  return server;
}
