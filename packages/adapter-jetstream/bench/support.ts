import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** One benchmark event: its partition key and its JSON text (about 200 bytes). */
export interface BenchEvent {
  readonly key: string;
  readonly text: string;
}

const WORDS = ["token", "delta", "agent", "tool", "call", "result", "stream", "chunk", "reply", "model"];

/** `count` distinct events shaped like AI streaming output, about 200 bytes of JSON each. */
export function makeEvents(count: number): BenchEvent[] {
  const events: BenchEvent[] = [];
  for (let i = 0; i < count; i++) {
    const key = `session-${i % 1000}`;
    const words = Array.from({ length: 8 }, (_, w) => WORDS[(i * 7 + w * 3) % WORDS.length]).join(" ");
    const value = {
      session: key,
      seq: i,
      kind: "token.delta",
      model: "m-large-2",
      text: words,
      score: (i % 997) / 997,
      ok: true,
    };
    let text = JSON.stringify(value);
    text = JSON.stringify({ ...value, pad: "p".repeat(Math.max(0, 200 - text.length - 10)) });
    events.push({ key, text });
  }
  return events;
}

/** The pid of the process listening on the URL's port, when `ss` can tell (for the server's CPU). */
export function serverPid(url: string): number | undefined {
  const port = /:(\d+)\/?$/.exec(url)?.[1];
  if (port === undefined) return undefined;
  try {
    const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid === undefined ? undefined : Number(pid);
  } catch {
    return undefined;
  }
}

/** CPU used by this process and (when known) the server, and the wall time, since `since`. */
export interface CpuSample {
  readonly wallMs: number;
  readonly clientMicros: number;
  readonly serverTicks: number | undefined;
  /** Percent of one core, over the wall time (only on a delta sample). */
  readonly clientPercent?: number;
  readonly serverPercent?: number;
}

function serverTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (1/100 s)
  } catch {
    return undefined;
  }
}

/** A sample now; with `since`, the difference since that sample, with percentages. */
export function cpuSample(pid: number | undefined, since?: CpuSample): CpuSample {
  const usage = process.cpuUsage();
  const now: CpuSample = {
    wallMs: performance.now(),
    clientMicros: usage.user + usage.system,
    serverTicks: serverTicks(pid),
  };
  if (since === undefined) return now;
  const wallMs = now.wallMs - since.wallMs;
  const serverDelta =
    now.serverTicks === undefined || since.serverTicks === undefined
      ? undefined
      : now.serverTicks - since.serverTicks;
  return {
    wallMs,
    clientMicros: now.clientMicros - since.clientMicros,
    serverTicks: serverDelta,
    clientPercent: ((now.clientMicros - since.clientMicros) / 1000 / wallMs) * 100,
    ...(serverDelta === undefined ? {} : { serverPercent: ((serverDelta * 10) / wallMs) * 100 }),
  };
}
