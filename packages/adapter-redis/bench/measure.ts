/** Clocks, CPU meters and the table printer of the benchmark. */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";

/** CPU time of a process from /proc (user + system), in ms; undefined when it cannot be read. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command name; clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** What one timed run measured. */
export interface Measurement {
  readonly events: number;
  readonly ms: number;
  /** This process's CPU over the run, in % of one core. */
  readonly clientCpu: number;
  /** redis-server's CPU over the run, in % of one core (when it runs on this machine). */
  readonly serverCpu: number | undefined;
}

/** Times `work` (which stores `events` events) and meters client and server CPU meanwhile. */
export async function measure(events: number, serverPid: number | undefined, work: () => Promise<void>) {
  globalThis.gc?.();
  const server0 = serverPid === undefined ? undefined : processCpuMs(serverPid);
  const client0 = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const client = process.cpuUsage(client0);
  const server1 = serverPid === undefined ? undefined : processCpuMs(serverPid);
  const measurement: Measurement = {
    events,
    ms,
    clientCpu: ((client.user + client.system) / 1000 / ms) * 100,
    serverCpu: server0 === undefined || server1 === undefined ? undefined : ((server1 - server0) / ms) * 100,
  };
  return measurement;
}

/** Events per second of a measurement. */
export function perSecond(m: Measurement): number {
  return (m.events / m.ms) * 1000;
}

/** The fastest of some measurements: the least disturbed run on a shared, noisy machine. */
export function best(runs: readonly Measurement[]): Measurement {
  return runs.reduce((a, b) => (perSecond(b) > perSecond(a) ? b : a));
}

/** The 1-minute load average, formatted. */
export function load(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
}

/** Prints rows as an aligned table (first column left-aligned, the others right-aligned). */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const [i, row] of rows.entries()) {
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
    );
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}
