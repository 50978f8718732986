/**
 * Core ingest benchmark: the bus's ingest paths through the noop adapter, each beside its bare baseline
 * in the same run (a bare ring-buffer push/pop loop, bare JSON.stringify), with the ratio. Throughput is
 * "sustained": producers yield to the event loop between chunks so the shard pumps batch and dispatch
 * everything, and the clock stops only after flush() — every event counted was delivered.
 *
 * With `NETMESH_BASELINE_CORE` set to a build of another revision of @netmesh/core (made by
 * `scripts/build-baseline-core.sh main`), every bus path also runs on that build, interleaved with ours
 * round by round, and a second table prints ours / that revision: the side-by-side check that a change
 * of the ingest path is a gain. The noop adapter takes text (`payload: "text"`: the rings queue the
 * strings themselves). The `bytes()` rows use an adapter that reads every batch as UTF-8, as
 * the JetStream and Kinesis adapters do. Last, the memory per queued event (see queued-memory.ts).
 */
import { NoopAdapter } from "@netmesh/adapter-noop";
import {
  AdapterBase,
  type AdapterCapabilities,
  type Batch,
  type EventBus,
  type IngestOptions,
  type RawEvent,
  type ShardPage,
  createBus,
} from "@netmesh/core";
import { bestOf, percentile, printTable, rate, timeIt, yieldToLoop } from "./measure.js";
import { reportQueuedMemory } from "./queued-memory.js";
import { tokenEvents } from "./workload.js";

const POOL = 1 << 16; // events are cycled from a prebuilt pool, so the heap holds no per-run copies
const CHUNK = 16_384;
/** `BENCH_SCALE` (default 1) scales every run, e.g. 0.1 for a quick look. */
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const chunks = (n: number) => Math.max(1, Math.round(n * SCALE)) * CHUNK;
const RAW_EVENTS = chunks(20 * 61); // ≈ 20 M, a whole number of chunks
const OBJECT_EVENTS = chunks(2 * 61); // ≈ 2 M
const BYTES_EVENTS = chunks(4 * 61); // ≈ 4 M
const SESSIONS = 1_000;
const RUNS = 3;

const objects = tokenEvents(POOL, SESSIONS);
const keyOptions: IngestOptions[] = Array.from({ length: SESSIONS }, (_, s) => ({ key: `session-${s}` }));

type CreateBus = typeof createBus;
const baselinePath = process.env.NETMESH_BASELINE_CORE;
const baselineCreate: CreateBus | undefined = baselinePath
  ? ((await import(baselinePath)) as { createBus: CreateBus }).createBus
  : undefined;

/**
 * Counts what it is given, like the noop adapter, after reading every batch as bytes (`batch.bytes()`),
 * and says so (`payload: "bytes"`), as the Redis, JetStream and Kinesis adapters do: the bus then holds
 * events in its byte slabs.
 */
class BytesSink extends AdapterBase {
  readonly name = "bytes-sink";
  readonly capabilities: AdapterCapabilities = { ...new NoopAdapter().capabilities, payload: "bytes" };
  events = 0;
  bytes = 0;
  protected async open(): Promise<void> {}
  protected async write(batch: Batch): Promise<void> {
    this.events += batch.size;
    this.bytes += batch.bytes().data.length;
  }
  protected async read(): Promise<ShardPage> {
    return { events: [], nextId: undefined, hasMore: false };
  }
  protected async close(): Promise<void> {}
}

type Sink = NoopAdapter | BytesSink;

async function newBus(
  create: CreateBus = createBus,
  sink: Sink = new NoopAdapter(),
): Promise<{ bus: EventBus; noop: Sink }> {
  // fail-producer: a full ring would show up as rejections, which the checks below forbid.
  const bus = await create({ adapter: sink, shards: 4, backpressure: "fail-producer" });
  return { bus, noop: sink };
}

/** Shuts the bus down and checks that every event reached the adapter. */
async function checkDelivered(bus: EventBus, noop: Sink, expected: number): Promise<void> {
  const { stats } = await bus.shutdown();
  if (stats.dispatched !== expected || noop.events !== expected || stats.dropped + stats.rejected !== 0) {
    throw new Error(
      `delivery check failed: expected ${expected}, dispatched ${stats.dispatched}, noop saw ${noop.events}, ` +
        `dropped ${stats.dropped}, rejected ${stats.rejected}`,
    );
  }
}

/** Best times of our bus and of the baseline build (NaN without one), runs interleaved. */
interface PairMs {
  readonly ours: number;
  readonly base: number;
}

/**
 * Ingests `total` events chunk by chunk (each chunk is CHUNK events from `offset`), yielding in between;
 * best of RUNS, alternating our bus and the baseline build's (which goes first rotates per round).
 */
async function sustained(
  total: number,
  ingestChunk: (bus: EventBus, offset: number, raws: readonly RawEvent[]) => void,
  makeSink: () => Sink = () => new NoopAdapter(),
): Promise<PairMs> {
  const once = async (create: CreateBus, raws: readonly RawEvent[]) =>
    timeIt(async () => {
      const { bus, noop } = await newBus(create, makeSink());
      for (let offset = 0; offset < total; offset += CHUNK) {
        ingestChunk(bus, offset, raws);
        await yieldToLoop();
      }
      await bus.flush();
      await checkDelivered(bus, noop, total);
    });
  let ours = Number.POSITIVE_INFINITY;
  let base = Number.POSITIVE_INFINITY;
  process.stderr.write(".");
  for (let round = 0; round < RUNS; round++) {
    if (baselineCreate !== undefined && round % 2 === 1) base = Math.min(base, await once(baselineCreate, baseRaws));
    ours = Math.min(ours, await once(createBus, oursRaws));
    if (baselineCreate !== undefined && round % 2 === 0) base = Math.min(base, await once(baselineCreate, baseRaws));
  }
  return { ours, base: baselineCreate === undefined ? Number.NaN : base };
}

/** Raw events prepared by each build's own bus (a prepared event of one build is plain to the other). */
let oursRaws: RawEvent[] = [];
let baseRaws: RawEvent[] = [];

function bareRing(total: number, texts: readonly string[]): Promise<number> {
  return bestOf(RUNS, () => {
    const capacity = 1 << 18;
    const mask = capacity - 1;
    const slots = new Array<string | undefined>(capacity).fill(undefined);
    let head = 0;
    let tail = 0;
    let sink = 0;
    for (let offset = 0; offset < total; offset += CHUNK) {
      for (let i = 0; i < CHUNK; i++) {
        slots[tail] = texts[(offset + i) & (POOL - 1)];
        tail = (tail + 1) & mask;
      }
      while (head !== tail) {
        sink += (slots[head] as string).length;
        slots[head] = undefined;
        head = (head + 1) & mask;
      }
    }
    if (sink === 0) throw new Error("unreachable");
  });
}

function bareStringify(total: number): Promise<number> {
  return bestOf(RUNS, () => {
    let sink = 0;
    for (let i = 0; i < total; i++) sink += JSON.stringify(objects[i & (POOL - 1)]).length;
    if (sink === 0) throw new Error("unreachable");
  });
}

/**
 * JSON.stringify whose results stay alive until CHUNK newer ones exist: the least any queue that batches
 * serialized events pays, because V8 copies every surviving young string during scavenges.
 */
function stringifyRetained(total: number): Promise<number> {
  return bestOf(RUNS, () => {
    const kept = new Array<string | undefined>(CHUNK).fill(undefined);
    for (let i = 0; i < total; i++) kept[i & (CHUNK - 1)] = JSON.stringify(objects[i & (POOL - 1)]);
    if (kept[0] === undefined) throw new Error("unreachable");
  });
}

async function singleCallLatency(raws: readonly RawEvent[]) {
  const calls = 1_000_000;
  const { bus, noop } = await newBus();
  const samples = new Float64Array(calls);
  const overhead = new Float64Array(calls);
  for (let offset = 0; offset < calls; offset += 1000) {
    for (let i = offset; i < offset + 1000; i++) {
      const start = process.hrtime.bigint();
      bus.ingestRaw(raws[i & (POOL - 1)]!);
      samples[i] = Number(process.hrtime.bigint() - start);
      const empty = process.hrtime.bigint();
      overhead[i] = Number(process.hrtime.bigint() - empty);
    }
    await yieldToLoop();
  }
  await bus.flush();
  await checkDelivered(bus, noop, calls);
  samples.sort();
  overhead.sort();
  const timer = percentile(overhead, 50);
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    p999: percentile(samples, 99.9),
    timer,
  };
}

async function main(): Promise<void> {
  const setup = await newBus();
  const prepare = (bus: EventBus) =>
    objects.map((event) => bus.prepare(event, keyOptions[Number(event.session.slice(8))]));
  oursRaws = prepare(setup.bus);
  await setup.bus.shutdown();
  if (baselineCreate !== undefined) {
    const base = await newBus(baselineCreate);
    baseRaws = prepare(base.bus);
    await base.bus.shutdown();
  }
  const texts = oursRaws.map((raw) => raw.json);
  console.log(
    `@netmesh/core ingest benchmark: Node ${process.version}, ${objects.length} distinct events of ` +
      `~${Math.round(texts.reduce((n, t) => n + Buffer.byteLength(t), 0) / texts.length)} B, 4 shards, ` +
      `noop adapter, best of ${RUNS}${baselinePath ? `; baseline build: ${baselinePath}` : ""}\n`,
  );

  const ringMs = await bareRing(RAW_EVENTS, texts);
  const raw = await sustained(RAW_EVENTS, (bus, offset, raws) => {
    for (let i = offset; i < offset + CHUNK; i++) bus.ingestRaw(raws[i & (POOL - 1)]!);
  });
  const rawBatch = await sustained(RAW_EVENTS, (bus, offset, raws) => {
    const start = offset & (POOL - 1);
    bus.ingestRawMany(raws.slice(start, start + CHUNK));
  });
  const rawBytes = await sustained(
    BYTES_EVENTS,
    (bus, offset, raws) => {
      for (let i = offset; i < offset + CHUNK; i++) bus.ingestRaw(raws[i & (POOL - 1)]!);
    },
    () => new BytesSink(),
  );
  const stringifyMs = await bareStringify(OBJECT_EVENTS);
  const retainedMs = await stringifyRetained(OBJECT_EVENTS);
  const keyed = await sustained(OBJECT_EVENTS, (bus, offset) => {
    for (let i = offset; i < offset + CHUNK; i++) {
      const event = objects[i & (POOL - 1)]!;
      bus.ingest(event, keyOptions[i % SESSIONS]);
    }
  });
  const unkeyed = await sustained(OBJECT_EVENTS, (bus, offset) => {
    for (let i = offset; i < offset + CHUNK; i++) bus.ingest(objects[i & (POOL - 1)]);
  });
  const many = await sustained(OBJECT_EVENTS, (bus, offset) => {
    const start = offset & (POOL - 1);
    bus.ingestMany(objects.slice(start, start + CHUNK), {
      key: (event) => (event as { session: string }).session,
    });
  });
  const keyedBytes = await sustained(
    OBJECT_EVENTS,
    (bus, offset) => {
      for (let i = offset; i < offset + CHUNK; i++) bus.ingest(objects[i & (POOL - 1)]!, keyOptions[i % SESSIONS]);
    },
    () => new BytesSink(),
  );
  const ratio = (ours: number, base: number) => `${(base / ours).toFixed(2)}×`;
  printTable([
    ["path", "events", "ours", "baseline", "baseline rate", "ours / baseline"],
    [
      "ingestRaw (sustained, noop)",
      String(RAW_EVENTS),
      rate(RAW_EVENTS, raw.ours),
      "bare ring push+pop",
      rate(RAW_EVENTS, ringMs),
      ratio(raw.ours, ringMs),
    ],
    [
      "ingestRawMany ×16k (sustained)",
      String(RAW_EVENTS),
      rate(RAW_EVENTS, rawBatch.ours),
      "bare ring push+pop",
      rate(RAW_EVENTS, ringMs),
      ratio(rawBatch.ours, ringMs),
    ],
    [
      "ingest(object, {key})",
      String(OBJECT_EVENTS),
      rate(OBJECT_EVENTS, keyed.ours),
      "bare JSON.stringify",
      rate(OBJECT_EVENTS, stringifyMs),
      ratio(keyed.ours, stringifyMs),
    ],
    [
      "ingest(object) content-hashed",
      String(OBJECT_EVENTS),
      rate(OBJECT_EVENTS, unkeyed.ours),
      "bare JSON.stringify",
      rate(OBJECT_EVENTS, stringifyMs),
      ratio(unkeyed.ours, stringifyMs),
    ],
    [
      "ingestMany ×16k, key fn",
      String(OBJECT_EVENTS),
      rate(OBJECT_EVENTS, many.ours),
      "bare JSON.stringify",
      rate(OBJECT_EVENTS, stringifyMs),
      ratio(many.ours, stringifyMs),
    ],
    [
      "ingest(object, {key})",
      String(OBJECT_EVENTS),
      rate(OBJECT_EVENTS, keyed.ours),
      "stringify kept 16k",
      rate(OBJECT_EVENTS, retainedMs),
      ratio(keyed.ours, retainedMs),
    ],
  ]);

  if (baselineCreate !== undefined) {
    console.log("\nside by side with the baseline build (runs interleaved, best of each):\n");
    const rows: [string, number, PairMs][] = [
      ["ingestRaw (noop)", RAW_EVENTS, raw],
      ["ingestRawMany ×16k (noop)", RAW_EVENTS, rawBatch],
      ["ingestRaw → adapter reading bytes()", BYTES_EVENTS, rawBytes],
      ["ingest(object, {key}) (noop)", OBJECT_EVENTS, keyed],
      ["ingest(object) content-hashed (noop)", OBJECT_EVENTS, unkeyed],
      ["ingestMany ×16k, key fn (noop)", OBJECT_EVENTS, many],
      ["ingest(object, {key}) → reading bytes()", OBJECT_EVENTS, keyedBytes],
    ];
    printTable([
      ["path", "events", "ours", "baseline build", "ours / baseline build"],
      ...rows.map(([label, events, pair]) => [
        label,
        String(events),
        rate(events, pair.ours),
        rate(events, pair.base),
        ratio(pair.ours, pair.base),
      ]),
    ]);
    const rawRatio = raw.base / raw.ours;
    console.log(
      `\ntarget ingestRaw ≥ 0.95× of the baseline build → ${rawRatio.toFixed(2)}× ${rawRatio >= 0.95 ? "MET" : "MISSED"}`,
    );
  }

  const latency = await singleCallLatency(oursRaws);
  const corrected = (ns: number) => Math.max(0, ns - latency.timer);
  console.log(
    `\nsingle ingestRaw call, 1M calls timed one by one (timer overhead ${latency.timer} ns subtracted): ` +
      `p50 ${corrected(latency.p50)} ns, p99 ${corrected(latency.p99)} ns, p99.9 ${corrected(latency.p999)} ns ` +
      `(raw p99 ${latency.p99} ns)`,
  );
  const rawRate = (RAW_EVENTS / raw.ours) * 1000;
  const ratioOf = (pair: PairMs) => stringifyMs / pair.ours;
  const verdict = (value: number, target: number) =>
    `${value.toFixed(2)}× ${value >= target ? "MET" : "MISSED"}`;
  console.log(
    `\ntargets: ingestRaw ≥ 10 M/s → ${(rawRate / 1e6).toFixed(2)} M/s ${rawRate >= 10e6 ? "MET" : "MISSED"}; ` +
      `p99 < 1 µs → ${corrected(latency.p99)} ns ${corrected(latency.p99) < 1000 ? "MET" : "MISSED"}; ` +
      `ingest(object, {key}) ≥ 0.8× stringify → ${verdict(ratioOf(keyed), 0.8)}; ` +
      `content-hashed ≥ 0.7× → ${verdict(ratioOf(unkeyed), 0.7)}; ingestMany ≥ 0.7× → ${verdict(ratioOf(many), 0.7)}`,
  );
  reportQueuedMemory();
}

await main();
