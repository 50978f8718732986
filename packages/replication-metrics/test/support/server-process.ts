import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { ensureBinary, isListening } from "@netmesh/test-backends";

/** Every server process a test file started and has not reaped yet; killed when the process exits. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
});

/** Absolute path of `binary`, installing `aptPackage` first when it is missing. */
export function binaryPath(binary: string, aptPackage: string): string {
  ensureBinary(binary, aptPackage);
  return execFileSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).trim();
}

/** The state letter of a process in /proc (`T` when stopped, `Z` a zombie), or undefined. */
function processState(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One server process on a loopback port: start, SIGSTOP/SIGCONT, SIGKILL and start again with the same
 * arguments (so the same port and data directory).
 */
export class ServerProcess {
  private child: ChildProcess | undefined;

  constructor(
    readonly name: string,
    private readonly binary: string,
    private readonly args: readonly string[],
    readonly port: number,
  ) {}

  /** True while the process runs (also while stopped by SIGSTOP). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The process id, while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Spawns it and resolves once it accepts connections (10 s at most). */
  async start(): Promise<void> {
    if (this.running) return;
    const child = spawn(this.binary, [...this.args], { stdio: "ignore" });
    live.add(child);
    child.once("exit", () => live.delete(child));
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!(await isListening(this.port, 200))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`${this.name} did not start listening on 127.0.0.1:${this.port}`);
      }
      await sleep(25);
    }
  }

  /** SIGSTOP, resolved once /proc shows the process stopped: it keeps its sockets and answers nothing. */
  async pause(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) throw new Error(`${this.name} is not running`);
    this.child!.kill("SIGSTOP");
    // The signal is not in force when kill() returns; wait until the kernel says so.
    const deadline = Date.now() + 2_000;
    while (processState(pid) !== "T") {
      if (Date.now() > deadline) throw new Error(`${this.name} did not stop on SIGSTOP`);
      await sleep(5);
    }
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    this.child?.kill("SIGCONT");
  }

  /** SIGKILL, resolved once the process has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    await exited;
    this.child = undefined;
  }
}
