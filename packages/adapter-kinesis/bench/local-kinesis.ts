/** A kinesalite of the benchmark's own, in a child process, so its CPU is measured apart from ours. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { freePort } from "@netmesh/test-backends";

/** The running server. */
export interface LocalKinesis {
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts kinesalite on a free port of 127.0.0.1 (instant stream creation, no shard limit to speak of). */
export async function startLocalKinesis(): Promise<LocalKinesis> {
  const module = createRequire(import.meta.url).resolve("kinesalite");
  const port = await freePort();
  const code =
    `const server = require(${JSON.stringify(module)})({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });` +
    `server.listen(${port}, "127.0.0.1", () => process.stdout.write("ready\\n"));`;
  const child: ChildProcess = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("kinesalite did not start within 10 s")), 10_000);
    child.stdout!.once("data", () => {
      clearTimeout(timer);
      resolve();
    });
    child.once("exit", (code) => reject(new Error(`kinesalite exited with ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** CPU time of a process from /proc (user + system), ms; undefined when it cannot be read. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in 10 ms ticks
  } catch {
    return undefined;
  }
}
