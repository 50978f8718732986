import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary, freePort, isListening } from "@netmesh/test-backends";

/** A nats-server of the test's own, with a config file (auth, permissions), on a free loopback port. */
export interface OwnServer {
  readonly port: number;
  /** `nats://127.0.0.1:port`, with `user:password@` when given. */
  url(user?: string, password?: string): string;
  /** SIGSTOP: the server keeps its sockets but answers nothing. */
  pause(): void;
  /** SIGCONT after {@link pause}. */
  resume(): void;
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
  writeFileSync(
    config,
    `listen: "127.0.0.1:${port}"\n${jetStream ? `jetstream { store_dir: ${JSON.stringify(join(dir, "js"))} }` : ""}\n${extraConfig}\n`,
  );
  const child: ChildProcess = spawn(binary, ["-c", config], { stdio: "ignore" });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const deadline = Date.now() + 10_000;
  while (!(await isListening(port, 200))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error(`own nats-server did not start on port ${port}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    url: (user, password) =>
      user === undefined ? `nats://127.0.0.1:${port}` : `nats://${user}:${password}@127.0.0.1:${port}`,
    pause: () => child.kill("SIGSTOP"),
    resume: () => child.kill("SIGCONT"),
    async stop() {
      process.off("exit", killOnExit);
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGCONT");
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
