import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary, freePort, isListening } from "@netmesh/test-backends";

/**
 * A redis-server of the test's own on a free loopback port, started with extra arguments (a password,
 * AOF persistence, cluster mode, replication, limits). `@netmesh/test-backends`' `startRedis()` has fixed
 * arguments; these tests need others.
 */
export interface OwnRedis {
  readonly port: number;
  /** `redis://127.0.0.1:port`, with `user:password@` when given. */
  url(user?: string, password?: string): string;
  /** SIGSTOP, resolved once the process is seen stopped: it keeps its sockets open but answers nothing. */
  pause(): Promise<void>;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** SIGKILL: connections drop without goodbye. */
  kill(): Promise<void>;
  /** SIGKILL, then start again on the same port with the same files (AOF survives). */
  restart(): Promise<void>;
  /** Kills it and removes its files. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Starts `redis-server` on 127.0.0.1 with `args` (no persistence unless `args` ask for it). */
export async function startOwnRedis(args: readonly string[] = []): Promise<OwnRedis> {
  ensureBinary("redis-server", "redis-server");
  const binary = execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "netmesh-own-redis-"));
  const argv = ["--bind", "127.0.0.1", "--port", String(port), "--dir", dir, "--save", "", ...args];
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const started = spawn(binary, argv, { stdio: "ignore" });
    live.add(started);
    started.once("exit", () => live.delete(started));
    child = started;
    const deadline = Date.now() + 10_000;
    while (!(await isListening(port, 200))) {
      if (Date.now() > deadline || started.exitCode !== null) {
        started.kill("SIGKILL");
        throw new Error(`own redis-server did not start on port ${port} (args ${args.join(" ")})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async function kill(): Promise<void> {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGCONT");
    running.kill("SIGKILL");
    await exited;
    child = undefined;
  }

  await start();
  return {
    port,
    url: (user, password) =>
      user === undefined && password === undefined
        ? `redis://127.0.0.1:${port}`
        : `redis://${user ?? ""}:${password ?? ""}@127.0.0.1:${port}`,
    async pause() {
      const running = child;
      if (running?.pid === undefined) throw new Error("own redis-server is not running");
      running.kill("SIGSTOP");
      // kill() returns before the signal takes effect: wait until /proc shows the process stopped (T).
      const deadline = Date.now() + 5_000;
      while (!/^\S+ \(.*\) T /.test(readFileSync(`/proc/${running.pid}/stat`, "utf8"))) {
        if (Date.now() > deadline) throw new Error("own redis-server did not stop on SIGSTOP");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    resume: () => child?.kill("SIGCONT"),
    kill,
    async restart() {
      await kill();
      await start();
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
