/**
 * Live-tail latency: an idle bus with a subscriber, then one event every 20 ms for 10 s, each carrying
 * `performance.now()` taken just before `bus.ingest` (same process); the subscriber takes
 * `performance.now()` when the event comes out of `for await` over `bus.subscribe()`. Before the timed
 * events, one warm-up event per shard is written and awaited (streams exist, followers are attached),
 * so the measured events meet an idle bus in its steady state.
 */
import { type EventBus, createBus } from "@netmesh/core";
import { percentile } from "./measure.js";
import type { Backend } from "./read-backends.js";
import { type StageSpread, StageStamps, stageSpreads, stagedAdapter } from "./read-stages.js";
import { Tally } from "./read-workload.js";

/** What one latency run measured (ms). */
export interface LatencyResult {
  readonly events: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Largest lateness of the sender's 20 ms schedule (a loaded machine delays the timer). */
  readonly senderLagMs: number;
  /** Where the time went, stage by stage (see read-stages.ts). */
  readonly stages: readonly StageSpread[];
  /** `undefined` when every event (and each warm-up event) arrived exactly once. */
  readonly problem: string | undefined;
}

const PAD = "x".repeat(150); // the event is ~200 B of JSON, like the throughput events
const SETTLE_MS = 5_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** A key per shard: keys whose route covers shards 0 … shards-1 (found by trying session names). */
function keysForEveryShard(bus: EventBus, shards: number): string[] {
  const keys = new Map<number, string>();
  for (let i = 0; keys.size < shards && i < 100_000; i++) {
    const key = `warm-${i}`;
    const shard = bus.shardFor(key);
    if (!keys.has(shard)) keys.set(shard, key);
  }
  if (keys.size < shards) throw new Error("no key found for some shard");
  return [...keys.values()];
}

/** Waits until `done()` or `ms` passed, checking every millisecond. */
async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (!done() && performance.now() < until) await sleep(1);
  return done();
}

/**
 * One latency run against `backend` under `prefix`: `count` events, one per `intervalMs`, with the
 * bus's default `batch.maxDelayMs` or the one given.
 */
export async function latencyRun(
  backend: Backend,
  prefix: string,
  count: number,
  intervalMs: number,
  maxDelayMs: number | undefined,
): Promise<LatencyResult> {
  const stamps = new StageStamps(count);
  const bus = await createBus({
    adapter: stagedAdapter(backend.makeAdapter(prefix), stamps),
    shards: 4,
    ...(maxDelayMs !== undefined && { batch: { maxDelayMs } }),
  });
  const tally = new Tally(count);
  const warm = new Tally(bus.shardCount);
  const latencies = new Float64Array(count);
  const stop = new AbortController();
  let subscriberError: unknown;
  const subscriber = (async () => {
    for await (const event of bus.subscribe({ signal: stop.signal })) {
      const now = performance.now();
      const value = JSON.parse(event.json) as { n: number; t?: number; warm?: boolean };
      if (value.warm === true) {
        warm.add(value.n);
        continue;
      }
      tally.add(value.n);
      if (value.n >= 0 && value.n < count && value.t !== undefined) {
        latencies[value.n] = now - value.t;
        stamps.ingest[value.n] = value.t;
        stamps.delivered[value.n] = now;
      }
    }
  })().catch((error: unknown) => {
    subscriberError = error;
  });
  let senderLagMs = 0;
  try {
    const keys = keysForEveryShard(bus, bus.shardCount);
    for (const [n, key] of keys.entries()) {
      const status = bus.ingest({ n, warm: true, pad: PAD }, { key });
      if (status !== "accepted") throw new Error(`warm-up event refused: ${status}`);
    }
    if (!(await waitFor(() => warm.received >= keys.length, 15_000))) {
      throw new Error(`warm-up: ${warm.received} of ${keys.length} events arrived within 15 s`);
    }
    await sleep(200); // idle: nothing in flight, followers waiting
    const start = performance.now();
    for (let n = 0; n < count; n++) {
      const due = start + n * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      senderLagMs = Math.max(senderLagMs, performance.now() - due);
      const status = bus.ingest({ n, t: performance.now(), pad: PAD });
      if (status !== "accepted") throw new Error(`event ${n} refused: ${status}`);
    }
    await waitFor(() => tally.received >= count, SETTLE_MS);
    await sleep(50); // a late duplicate would show up here
  } finally {
    stop.abort();
    await subscriber;
    await bus.shutdown({ deadlineMs: 10_000 });
  }
  const sorted = Float64Array.from(latencies).sort();
  const problems = [
    subscriberError === undefined ? undefined : `subscriber failed: ${String(subscriberError)}`,
    tally.problem(),
    warm.problem() === undefined ? undefined : `warm-up ${warm.problem()}`,
  ].filter((p) => p !== undefined);
  return {
    events: count,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    senderLagMs,
    stages: stageSpreads(stamps),
    problem: problems.length === 0 ? undefined : problems.join("; "),
  };
}
