// Real backends for adapter tests, never mocks. Everything listens on 127.0.0.1 only.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The only interface the test servers listen on. */
export const HOST = "127.0.0.1";
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

/** Resolves once something listens on HOST:port; rejects after `ms`. */
export async function waitForPort(port, ms, what) {
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

/** The command that prepares this machine for the tests; every "not there" error names it. */
export const SETUP_COMMAND = "npm run setup";

/** True when `binary` is on the PATH. */
export function hasBinary(binary) {
  try {
    execFileSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that `binary` is on the PATH and throws a clear error when it is not. Tests never install
 * anything: the set-up step (`npm run setup`, run first by `npm test`) installs Debian's `aptPackage`.
 */
export function ensureBinary(binary, aptPackage) {
  if (hasBinary(binary)) return;
  throw new Error(
    `${binary} is not installed: run the set-up: ${SETUP_COMMAND} (it installs ${aptPackage} with apt; npm test runs it first)`,
  );
}

/** The full path of `binary` on the PATH. */
export function binaryPath(binary) {
  return execFileSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).trim();
}

/**
 * The INFO line a nats-server greets every connection with (parsed JSON), or `undefined` when nothing
 * NATS-like answers on HOST:port within `ms`.
 */
export function natsInfo(port, ms = 1_000) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let text = "";
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(ms, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      const end = text.indexOf("\r\n");
      if (end === -1) {
        if (text.length > 64 * 1024) done(undefined);
        return;
      }
      const line = text.slice(0, end);
      if (!line.startsWith("INFO ")) return done(undefined);
      try {
        done(JSON.parse(line.slice(5)));
      } catch {
        done(undefined);
      }
    });
  });
}

/** The shared Redis on 127.0.0.1:`port`; resolves its URL, or rejects when it is not running. */
export async function ensureRedis(port = 6379) {
  if (!(await isListening(port))) {
    throw new Error(
      `no redis-server on ${HOST}:${port}: run the set-up: ${SETUP_COMMAND} (npm test runs it first)`,
    );
  }
  return `redis://${HOST}:${port}`;
}

/**
 * The shared nats-server with JetStream on 127.0.0.1:`port`; resolves its URL, or rejects when it is not
 * running or runs without JetStream.
 */
export async function ensureNats(port = 4222) {
  const info = await natsInfo(port);
  if (info === undefined) {
    throw new Error(
      `no nats-server on ${HOST}:${port}: run the set-up: ${SETUP_COMMAND} (npm test runs it first)`,
    );
  }
  if (info.jetstream !== true) {
    throw new Error(`the nats-server on ${HOST}:${port} runs without JetStream: restart it with -js`);
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
