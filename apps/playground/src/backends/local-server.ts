import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureBinary, freePort, isListening } from "@netmesh/test-backends";

/**
 * A server the playground started itself, on a free loopback port, with its data in a temporary
 * directory: the outage scenario stops it (SIGKILL, connections drop without goodbye) and starts it
 * again on the same port with the same files, so what was stored before the outage is still there.
 */
export interface LocalServer {
  /** `redis-server` or `nats-server`. */
  readonly program: string;
  readonly url: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** SIGKILL, resolved once the process has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port, resolved once it accepts connections. */
  start(): Promise<void>;
  /** Kills it and removes its files. Idempotent. */
  dispose(): Promise<void>;
}

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 10_000;
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

function binaryOf(program: string, aptPackage: string): string {
  ensureBinary(program, aptPackage);
  return execFileSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" }).trim();
}

async function launch(
  program: string,
  binary: string,
  args: (port: number, dir: string) => string[],
  scheme: string,
): Promise<LocalServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `netmesh-playground-${program}-`));
  let child: ChildProcess | undefined;
  let disposed = false;

  const start = async (): Promise<void> => {
    const started = spawn(binary, args(port, dir), { stdio: "ignore" });
    live.add(started);
    started.once("exit", () => live.delete(started));
    child = started;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await isListening(port, 200))) {
      if (started.exitCode !== null || Date.now() > deadline) {
        started.kill("SIGKILL");
        throw new Error(
          `${program} did not start listening on ${HOST}:${port} within ${START_TIMEOUT_MS} ms`,
        );
      }
      await sleep(25);
    }
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
  };
  await start();
  return {
    program,
    url: `${scheme}://${HOST}:${port}`,
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    kill,
    start,
    async dispose() {
      if (disposed) return;
      disposed = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A private redis-server with an append-only file written on every command (`appendfsync always`),
 * so a SIGKILL loses nothing the server acknowledged. `replicaOf` makes it a replica of that server.
 */
export function startLocalRedis(replicaOf?: LocalServer): Promise<LocalServer> {
  const replication = replicaOf === undefined ? [] : ["--replicaof", HOST, new URL(replicaOf.url).port];
  const binary = binaryOf("redis-server", "redis-server");
  return launch(
    "redis-server",
    binary,
    (port, dir) => [
      "--bind",
      HOST,
      "--port",
      String(port),
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      ...replication,
    ],
    "redis",
  );
}

/** A private nats-server with JetStream, its file store in its own directory. */
export function startLocalNats(): Promise<LocalServer> {
  const binary = binaryOf("nats-server", "nats-server");
  return launch(
    "nats-server",
    binary,
    (port, dir) => ["-a", HOST, "-p", String(port), "-js", "-sd", dir],
    "nats",
  );
}
