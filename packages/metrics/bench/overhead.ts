/**
 * Overhead of observability on the ingest paths: the same bus, bare, and with `collectBusMetrics`
 * attached plus a subscriber on every diagnostics channel, measured in one run. A third setup, the
 * subscribers alone, splits the cost between core's publishing and this package's collector. Rounds
 * interleave the setups (rotating which goes first) and each figure is the median of the per-round
 * ratios, so a noisy neighbour or a CPU frequency change hits both sides of a ratio alike.
 *
 * Throughput is "sustained", as in apps/bench: producers yield to the event loop between chunks so the
 * pumps batch and dispatch everything, and the clock stops after flush(), so the cost of publishing
 * (and of the byte count core makes for `batch:dispatched`) is inside the figure.
 *
 * The sink adapter never reads an event, so `batch:dispatched`'s byte count is the only pass over the
 * event bytes in the whole run: the worst case. A reference path repeats ingestRaw with a sink that
 * encodes each batch with `batch.bytes()`, as the JetStream and Kinesis adapters do.
 *
 * Run: `pnpm bench` (node --import tsx bench/overhead.ts). About 30 s.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  AdapterBase,
  type AdapterCapabilities,
  type Batch,
  createBus,
  DIAGNOSTICS_CHANNELS,
  type EventBus,
  type IngestOptions,
  type RawEvent,
  type ShardPage,
} from "@netmesh/core";
import { Registry } from "prom-client";
import { collectBusMetrics } from "../src/index.js";

const POOL = 1 << 16; // events cycle through a prebuilt pool: no per-run allocation of inputs
const CHUNK = 16_384;
// ≈ 4 M: at 15 M/s a run of 1 M events lasted ~65 ms, too short for a stable per-round ratio.
const RAW_EVENTS = CHUNK * 244;
const OBJECT_EVENTS = CHUNK * 13; // ≈ 200 k
const ENCODED_EVENTS = CHUNK * 16; // ≈ 250 k
const SESSIONS = 1_000;
const MAX_ROUNDS = 15;
const MIN_ROUNDS = 5;
const BUDGET_MS = 20_000;
const TARGET = 0.95;

// A collection before each timed run keeps one run's garbage out of the next one's clock.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * Stores nothing: the bench measures the bus and its observers, not a backend. With `encode`, it
 * encodes each batch to UTF-8 first (`batch.bytes()`), the work a network adapter does before sending.
 */
class SinkAdapter extends AdapterBase {
  readonly name = "sink";
  readonly capabilities: AdapterCapabilities;
  events = 0;
  bytes = 0;
  constructor(private readonly encode = false) {
    super();
    // An encoding sink says it takes bytes, as a network adapter does: its batches are byte runs.
    this.capabilities = Object.freeze({ ...SINK_CAPABILITIES, payload: encode ? "bytes" : "text" });
  }
  protected async open(): Promise<void> {}
  protected async write(batch: Batch): Promise<void> {
    this.events += batch.size;
    if (this.encode) this.bytes += batch.bytes().data.length;
  }
  protected async read(): Promise<ShardPage> {
    return { events: [], nextId: undefined, hasMore: false };
  }
  protected async close(): Promise<void> {}
}

const SINK_CAPABILITIES: AdapterCapabilities = Object.freeze({
  readable: false,
  dedup: "none",
  dedupWindowMs: 0,
  persistent: false,
  ordering: "shard",
  maxEventBytes: Number.POSITIVE_INFINITY,
  streamingReads: false,
  listsShards: false,
});

/** ~200-byte token events of an LLM stream, keyed by session. */
function tokenEvents(count: number): { session: string; seq: number; delta: string }[] {
  const words = "the model streams tokens while tools and guardrails report verdicts".split(" ");
  return Array.from({ length: count }, (_, i) => ({
    type: "token",
    session: `session-${i % SESSIONS}`,
    seq: Math.floor(i / SESSIONS),
    model: "netmesh-sim-70b",
    delta: `${Array.from({ length: 12 }, (_, w) => words[(i + w * 7) % words.length]).join(" ")} \u201c${i}\u201d`,
    finish: null,
    usage: { prompt: 512, completion: Math.floor(i / SESSIONS) },
  }));
}

const objects = tokenEvents(POOL);
const keyOptions: IngestOptions[] = Array.from({ length: SESSIONS }, (_, s) => ({ key: `session-${s}` }));
let raws: RawEvent[] = [];

/** Messages seen by the extra subscribers, per channel (proof they were attached). */
const heard = new Map<string, number>(Object.values(DIAGNOSTICS_CHANNELS).map((name) => [name, 0]));
const listeners = Object.values(DIAGNOSTICS_CHANNELS).map((name) => {
  const listener = () => heard.set(name, heard.get(name)! + 1);
  return { name, listener };
});

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

type Path = "raw" | "object" | "encoded";
const PATHS: readonly Path[] = ["raw", "object", "encoded"];
const EVENTS: Record<Path, number> = { raw: RAW_EVENTS, object: OBJECT_EVENTS, encoded: ENCODED_EVENTS };

/** What is attached to the bus: nothing, the diagnostics subscribers, or those plus the collector. */
type Setup = "bare" | "subscribers" | "full" | "noBytes";
const SETUPS: readonly Setup[] = ["bare", "subscribers", "full", "noBytes"];

/** One timed run: ms from the first ingest to the end of flush(), all events checked as delivered. */
async function run(path: Path, setup: Setup): Promise<number> {
  const sink = new SinkAdapter(path === "encoded");
  // fail-producer: a full ring would show as rejections, which the delivery check forbids.
  const bus: EventBus = await createBus({ adapter: sink, shards: 4, backpressure: "fail-producer" });
  const registry = new Registry();
  const metrics =
    setup === "full"
      ? collectBusMetrics(bus, { registry })
      : setup === "noBytes"
        ? collectBusMetrics(bus, { registry, batchBytes: false })
        : undefined;
  const attached = setup === "bare" ? [] : listeners;
  for (const { name, listener } of attached) subscribe(name, listener);
  const total = EVENTS[path];
  gc();
  const started = performance.now();
  for (let offset = 0; offset < total; offset += CHUNK) {
    if (path !== "object") {
      for (let i = offset; i < offset + CHUNK; i++) bus.ingestRaw(raws[i & (POOL - 1)]!);
    } else {
      for (let i = offset; i < offset + CHUNK; i++)
        bus.ingest(objects[i & (POOL - 1)], keyOptions[i % SESSIONS]);
    }
    await yieldToLoop();
  }
  await bus.flush();
  const ms = performance.now() - started;
  const stats = bus.stats();
  if (stats.dispatched !== total || sink.events !== total || stats.rejected + stats.dropped !== 0) {
    throw new Error(
      `delivery check failed: ${JSON.stringify({ total, sink: sink.events, ...stats, shards: [] })}`,
    );
  }
  if (metrics !== undefined) {
    // The collector saw it all: its counter equals stats(), its histogram counted every batch.
    const text = await registry.metrics();
    const dispatched = Number(/^netmesh_events_dispatched_total (\d+)$/m.exec(text)?.[1]);
    const batches = Number(/^netmesh_batch_size_events_count (\d+)$/m.exec(text)?.[1]);
    if (dispatched !== total || batches !== stats.batches) throw new Error("metrics check failed");
    metrics.stop();
  }
  for (const { name, listener } of attached) unsubscribe(name, listener);
  await bus.shutdown();
  return ms;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function rate(events: number, ms: number): string {
  const perSecond = (events / ms) * 1000;
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M/s` : `${(perSecond / 1e3).toFixed(0)} k/s`;
}

async function main(): Promise<void> {
  const setup = await createBus({ adapter: new SinkAdapter() });
  raws = objects.map((event) => setup.prepare(event, keyOptions[Number(event.session.slice(8))]));
  await setup.shutdown();
  console.log(
    `@netmesh/metrics overhead: Node ${process.version}, 4 shards, sink adapter, ~${Math.round(
      raws.reduce((n, raw) => n + raw.json.length, 0) / raws.length,
    )} B events. bare: nothing attached; subscribers: a no-op subscriber on all ${listeners.length} ` +
      "diagnostics channels; full: those plus collectBusMetrics",
  );
  // Warm-up: every code path compiled before any clock runs.
  for (const path of PATHS) for (const which of SETUPS) await run(path, which);

  const times: Record<Path, Record<Setup, number[]>> = {
    raw: { bare: [], subscribers: [], full: [], noBytes: [] },
    object: { bare: [], subscribers: [], full: [], noBytes: [] },
    encoded: { bare: [], subscribers: [], full: [], noBytes: [] },
  };
  const deadline = performance.now() + BUDGET_MS;
  let rounds = 0;
  while (rounds < MAX_ROUNDS && (rounds < MIN_ROUNDS || performance.now() < deadline)) {
    for (const path of PATHS) {
      // Rotate the order, so no setup always runs first (on a cooler heap, a warmer CPU).
      for (let i = 0; i < SETUPS.length; i++) {
        const which = SETUPS[(i + rounds) % SETUPS.length]!;
        times[path][which].push(await run(path, which));
      }
    }
    rounds++;
  }

  /** Median over rounds of (time of `base`) / (time of `setup`): the throughput ratio. */
  const ratio = (path: Path, setup: Setup, base: Setup) =>
    median(times[path][setup].map((ms, round) => times[path][base][round]! / ms));
  const rows = [
    [
      "path",
      "events/run",
      "bare",
      "subscribers",
      "full",
      "full, batchBytes off",
      "full / bare",
      "batchBytes off / bare",
      "subscribers / bare",
      "full / subscribers",
    ],
  ];
  const verdicts: string[] = [];
  for (const [path, label] of [
    ["raw", "ingestRaw (sustained)"],
    ["object", "ingest(object, {key})"],
    ["encoded", "ingestRaw, encoding sink (reference)"],
  ] as const) {
    const events = EVENTS[path];
    const full = ratio(path, "full", "bare");
    rows.push([
      label,
      String(events),
      ...SETUPS.map((which) => rate(events, median(times[path][which]))),
      `${full.toFixed(3)}×`,
      `${ratio(path, "noBytes", "bare").toFixed(3)}×`,
      `${ratio(path, "subscribers", "bare").toFixed(3)}×`,
      `${ratio(path, "full", "subscribers").toFixed(3)}×`,
    ]);
    const lean = ratio(path, "noBytes", "bare");
    if (path !== "encoded")
      verdicts.push(
        `${label} ${full.toFixed(3)}× ${full >= TARGET ? "MET" : "MISSED"} ` +
          `(batchBytes off: ${lean.toFixed(3)}× ${lean >= TARGET ? "MET" : "MISSED"})`,
      );
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  console.log(`\n${rounds} interleaved rounds; rates are medians, ratios medians of per-round ratios\n`);
  for (const [i, row] of rows.entries()) {
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
    );
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
  const messages = [...heard].map(([name, count]) => `${name.slice("netmesh:".length)} ${count}`).join(", ");
  console.log(`\nmessages heard by the no-op subscribers: ${messages}`);
  console.log(`target full ≥ ${TARGET}× of bare: ${verdicts.join("; ")}`);
}

await main();
