/**
 * The read benchmark's results and their report: per backend, each path's best verified run and the
 * timings of every round; printed as the summary tables, the ratios against issue 12's targets (best of
 * the rounds, and the median of the ratios measured within each round, whose paths ran back to back
 * and shared the machine's disturbance), and the latency table.
 *
 * Two write rates are measured, and a read is compared like for like with the write doing the same
 * kind of work: a read that JSON-parses every event with the write that serializes every value
 * (`ingestManyOrWait`), and a read that passes each event's JSON text on unparsed with the write of
 * pre-serialized events (`ingestRawManyOrWait`, raw in, raw out). The column and the ratios "÷ raw
 * write" divide parsing reads by the pre-serialized write, as the issue states its target: that pair
 * is not like for like (the read parses, the write serializes nothing).
 */
import { printTable } from "./measure.js";
import type { Backend } from "./read-backends.js";
import type { LatencyResult } from "./read-latency.js";
import type { Timing } from "./read-paths.js";

/**
 * What a path does: `write` pre-serialized events, `write-values` values the bus serializes; the bus
 * reads `poll`/`subscribe` parse every event, `poll-text`/`subscribe-text` take its text unparsed;
 * `baseline` a raw hand-written read (it parses), `info` one shown for information.
 */
export type PathKind =
  | "write"
  | "write-values"
  | "poll"
  | "subscribe"
  | "poll-text"
  | "subscribe-text"
  | "baseline"
  | "info";

/** One path of one backend: its best verified run, and the first failure if any run failed. */
export interface PathResult {
  readonly label: string;
  readonly kind: PathKind;
  best: Timing | undefined;
  failed: string | undefined;
}

/** One latency run's outcome. */
export interface LatencyEntry {
  readonly maxDelayMs: number;
  readonly result: LatencyResult | undefined;
  readonly failed?: string;
}

/** Everything measured on one backend. */
export interface BackendResult {
  readonly backend: Backend;
  readonly events: number;
  readonly paths: PathResult[];
  /** Per round run: the wall time (ms) of each path verified in that round. */
  readonly rounds: Map<PathResult, number>[];
  readonly latency: LatencyEntry[];
}

/** Formats events per second in thousands. */
export const fmtRate = (events: number, ms: number) => `${(events / ms).toFixed(1)} k/s`;
const fmtRatio = (value: number) => `${value.toFixed(2)}×`;

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A rate ratio with a target: [name, numerator kind, denominator kind, target]. */
type Target = readonly [name: string, kind: PathKind, base: PathKind | "hand", target: number];

/** The rate ratios issue 12 sets targets for, as it states them (the write is pre-serialized). */
const ISSUE_TARGETS: readonly Target[] = [
  ["poll ÷ hand", "poll", "hand", 0.8],
  ["subscribe ÷ hand", "subscribe", "hand", 0.8],
  ["poll ÷ raw write", "poll", "write", 1],
  ["subscribe ÷ raw write", "subscribe", "write", 1],
];

/** The write-rate target like for like: parsing reads ÷ the values write, unparsed reads ÷ the raw write. */
const LIKE_TARGETS: readonly Target[] = [
  ["poll ÷ values write", "poll", "write-values", 1],
  ["subscribe ÷ values write", "subscribe", "write-values", 1],
  ["unparsed poll ÷ raw write", "poll-text", "write", 1],
  ["unparsed subscribe ÷ raw write", "subscribe-text", "write", 1],
];

/** The write a read is compared with like for like (see the file's comment); undefined for a write. */
function likeWrite(kind: PathKind): PathKind | undefined {
  if (kind === "write" || kind === "write-values") return undefined;
  return kind === "poll-text" || kind === "subscribe-text" ? "write" : "write-values";
}

/** Wall time (ms) of a kind of path in `times`; "hand" is the fastest raw hand-written read. */
function msOf(times: Map<PathResult, number>, kind: PathKind | "hand"): number | undefined {
  let best: number | undefined;
  for (const [path, ms] of times) {
    if (path.kind === kind || (kind === "hand" && path.kind === "baseline")) {
      best = best === undefined ? ms : Math.min(best, ms);
    }
  }
  return best;
}

/** The target ratios within one round, for its summary: the issue's, then like for like. */
export function roundRatios(times: Map<PathResult, number>): string {
  const list = (targets: readonly Target[]) =>
    targets
      .map(([name, kind, base]) => {
        const ms = msOf(times, kind);
        const baseMs = msOf(times, base);
        return `${name} ${ms === undefined || baseMs === undefined ? "n/a" : fmtRatio(baseMs / ms)}`;
      })
      .join(", ");
  return `${list(ISSUE_TARGETS)}\n    like for like: ${list(LIKE_TARGETS)}`;
}

function bestTimes(paths: readonly PathResult[]): Map<PathResult, number> {
  const times = new Map<PathResult, number>();
  for (const path of paths) if (path.best !== undefined) times.set(path, path.best.ms);
  return times;
}

function throughputTable(results: readonly BackendResult[]): void {
  const rows: string[][] = [
    [
      "backend / path",
      "events",
      "events/s",
      "client CPU",
      "server µs/event",
      "÷ hand",
      "÷ raw write",
      "÷ like write",
      "verified",
    ],
  ];
  for (const { backend, events, paths } of results) {
    const best = bestTimes(paths);
    const handMs = msOf(best, "hand");
    const writeMs = msOf(best, "write");
    for (const path of paths) {
      const ms = path.best?.ms;
      const ratio = (other: number | undefined) =>
        ms === undefined || other === undefined ? "–" : fmtRatio(other / ms);
      const like = likeWrite(path.kind);
      const parses = like === "write-values";
      const isBase = path.kind === "baseline" && ms !== undefined && ms === handMs;
      rows.push([
        `${backend.name.padEnd(10)} ${path.label}`,
        events.toLocaleString("en"),
        ms === undefined ? "–" : fmtRate(events, ms),
        path.best === undefined ? "–" : `${path.best.cpu.toFixed(0)}%`,
        path.best?.serverUs === undefined ? "–" : path.best.serverUs.toFixed(2),
        !parses ? "" : isBase ? "base" : ratio(handMs),
        like === undefined ? "" : ratio(writeMs),
        like === undefined ? "" : ratio(msOf(best, like)),
        path.failed !== undefined ? "FAILED" : path.best === undefined ? "not run" : "exactly once",
      ]);
    }
  }
  printTable(rows);
}

function targetLines(results: readonly BackendResult[], title: string, targets: readonly Target[]): void {
  console.log(`\n${title}; best of rounds / median of the per-round ratios:`);
  for (const { backend, paths, rounds } of results) {
    const best = bestTimes(paths);
    const parts = targets.map(([name, kind, base, target]) => {
      const ms = msOf(best, kind);
      const baseMs = msOf(best, base);
      if (ms === undefined || baseMs === undefined) return `${name} n/a`;
      const perRound = rounds
        .map((times) => {
          const roundMs = msOf(times, kind);
          const roundBase = msOf(times, base);
          return roundMs === undefined || roundBase === undefined ? undefined : roundBase / roundMs;
        })
        .filter((ratio) => ratio !== undefined);
      const mid = median(perRound);
      const ratio = baseMs / ms;
      const verdict = ratio >= target && (mid === undefined || mid >= target) ? "met" : "MISSED";
      return `${name} ${fmtRatio(ratio)} / ${mid === undefined ? "n/a" : fmtRatio(mid)} (≥ ${target}×: ${verdict})`;
    });
    console.log(`  ${backend.name.padEnd(10)} ${parts.join("; ")}`);
  }
}

function latencyTable(results: readonly BackendResult[], defaultDelayMs: number): void {
  const rows: string[][] = [
    [
      "backend",
      "batch.maxDelayMs",
      "events",
      "p50 ms",
      "p99 ms",
      "max ms",
      "sender lag ms",
      "p99 ≤ maxDelayMs + 5",
      "verified",
    ],
  ];
  for (const { backend, latency } of results) {
    for (const { maxDelayMs, result, failed } of latency) {
      const cell = (value: (r: LatencyResult) => string) => (result === undefined ? "–" : value(result));
      rows.push([
        backend.name,
        maxDelayMs === defaultDelayMs ? `${maxDelayMs} (default)` : String(maxDelayMs),
        cell((r) => String(r.events)),
        cell((r) => r.p50.toFixed(2)),
        cell((r) => r.p99.toFixed(2)),
        cell((r) => r.max.toFixed(2)),
        cell((r) => r.senderLagMs.toFixed(1)),
        cell((r) => (r.p99 <= maxDelayMs + 5 ? "met" : "MISSED")),
        failed !== undefined || result?.problem !== undefined ? "FAILED" : "exactly once",
      ]);
    }
  }
  printTable(rows);
}

/** Prints the summary: throughput table, target ratios, latency table. */
export function printSummary(
  results: readonly BackendResult[],
  latency: { intervalMs: number; seconds: number; defaultDelayMs: number },
): void {
  const rounds = results.map((r) => `${r.backend.name} ${r.rounds.length}`).join(", ");
  console.log(
    `\nRead throughput, best verified run per path (rounds run: ${rounds}). Ratios are of rates ` +
      `(1.00× = as fast); "÷ hand" divides a parsing read by the backend's fastest raw hand-written read ` +
      `("base"); "÷ raw write" by the pre-serialized write; "÷ like write" a parsing read by the values ` +
      `write and an unparsed read by the pre-serialized write (like for like). "server µs/event": the ` +
      `backend server's CPU over the run per event, where it reports it (Redis: INFO cpu, the whole server).`,
  );
  throughputTable(results);
  targetLines(
    results,
    "issue 12 targets as stated (reads ≥ 0.8× the hand-written read, ≥ 1.0× the pre-serialized write rate)",
    ISSUE_TARGETS,
  );
  targetLines(
    results,
    "write-rate target like for like (parsing reads ÷ the values write, unparsed reads ÷ the pre-serialized write, ≥ 1.0×)",
    LIKE_TARGETS,
  );
  console.log(
    `\nLive-tail latency, ingest → subscriber via bus.subscribe(), 1 event per ${latency.intervalMs} ms ` +
      `for ${latency.seconds} s on an idle bus (sender lag: how late the sender's timer fired at worst)`,
  );
  latencyTable(results, latency.defaultDelayMs);
}
