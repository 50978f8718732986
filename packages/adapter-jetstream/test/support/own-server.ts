import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary, freePort, isListening } from "@netmesh/test-backends";

/** A nats-server of the test's own, with a config file (auth, permissions), on a free loopback port. */
export interface OwnServer {
  readonly port: number;
  /** `nats://127.0.0.1:port`, with `user:password@` when given. */
  url(user?: string, password?: string): string;
  /** SIGSTOP, resolved once the process is seen stopped: it keeps its sockets but answers nothing. */
  pause(): Promise<void>;
  /** SIGCONT after {@link pause}. */
  resume(): void;
  /** SIGKILL, keeping its files: {@link start} runs it again on the same port and store. */
  kill(): Promise<void>;
  /** Starts it again after {@link kill}, with `extraConfig` in place of the config it had. */
  start(extraConfig?: string): Promise<void>;
  /** Kills it and removes its files. */
  stop(): Promise<void>;
}

/** Starts `nats-server -c` with `extraConfig` after `listen`, and JetStream unless told otherwise. */
export async function startOwnServer(extraConfig = "", jetStream = true): Promise<OwnServer> {
  ensureBinary("nats-server", "nats-server");
  const binary = execFileSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).trim();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "netmesh-own-nats-"));
  const config = join(dir, "server.conf");
  const writeConfig = (extra: string) =>
    writeFileSync(
      config,
      `listen: "127.0.0.1:${port}"\n${jetStream ? `jetstream { store_dir: ${JSON.stringify(join(dir, "js"))} }` : ""}\n${extra}\n`,
    );
  let child: ChildProcess;
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const launch = async () => {
    child = spawn(binary, ["-c", config], { stdio: "ignore" });
    const deadline = Date.now() + 10_000;
    while (!(await isListening(port, 200))) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill("SIGKILL");
        throw new Error(`own nats-server did not start on port ${port}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await exited;
  };
  writeConfig(extraConfig);
  await launch();
  return {
    port,
    url: (user, password) =>
      user === undefined ? `nats://127.0.0.1:${port}` : `nats://${user}:${password}@127.0.0.1:${port}`,
    async pause() {
      child.kill("SIGSTOP");
      // The stop is not in force when kill() returns; a request sent at once may still be answered.
      const until = Date.now() + 2_000;
      while (processState(child.pid) !== "T") {
        if (Date.now() > until) throw new Error("nats-server did not stop on SIGSTOP");
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    resume: () => child.kill("SIGCONT"),
    kill,
    async start(extra = extraConfig) {
      writeConfig(extra);
      await launch();
    },
    async stop() {
      process.off("exit", killOnExit);
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A server of the test's own with two users: `writer` (password `w-pass`) may do anything,
 * `noconsumers` (password `nc-pass`) may not create consumers, so its reads use direct gets only.
 */
export function startServerWithoutConsumers(): Promise<OwnServer> {
  return startOwnServer(`authorization {
  users = [
    { user: "writer", password: "w-pass" }
    { user: "noconsumers", password: "nc-pass", permissions: { publish: { deny: ["$JS.API.CONSUMER.CREATE.>"] } } }
  ]
}`);
}

/** The state letter of a process in /proc (`T` when stopped), or undefined. */
function processState(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
  } catch {
    return undefined;
  }
}
