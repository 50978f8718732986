/**
 * Memory per queued event: 1,000,000 ~200-byte events held by a bus whose adapter does not return
 * (one batch in flight per shard, the rest queued), measured as heap + external memory (ArrayBuffers
 * and Buffers included) after a full GC, minus the same before the bus existed. Each measurement runs
 * in a child process of its own, so one build's garbage never counts for the other; with
 * `NETMESH_BASELINE_CORE` (see core-ingest.ts) the baseline build is measured the same way.
 *
 * Events are fresh `JSON.stringify` texts, as `ingest(object)` makes them, spread evenly over the 4
 * shards (the rings hold 262,144 events each, so nothing is refused). Measured for an adapter that takes
 * bytes (`payload: "bytes"`: the events wait in byte slabs) and for one that takes text (the strings
 * themselves wait). Target, for byte slabs: ≤ payload + 32 B.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NoopAdapter } from "@netmesh/adapter-noop";
import { AdapterBase, type AdapterCapabilities, type Batch, type ShardPage, createBus } from "@netmesh/core";
import { tokenEvents } from "./workload.js";

const EVENTS = 1_000_000;
const SHARDS = 4;
const POOL = 1 << 16;

/** Accepts every batch and never settles it until released: the bus keeps everything it accepted. */
class HoldingAdapter extends AdapterBase {
  readonly name = "holding";
  // A write-only sink like the noop adapter, taking the payload form under measurement.
  readonly capabilities: AdapterCapabilities = Object.freeze({
    ...new NoopAdapter().capabilities,
    payload: process.env.NETMESH_MEASURE_PAYLOAD === "text" ? "text" : "bytes",
  });
  private releaseAll: (() => void) | undefined;
  private readonly released = new Promise<void>((resolve) => {
    this.releaseAll = resolve;
  });
  protected async open(): Promise<void> {}
  protected async write(_batch: Batch): Promise<void> {
    await this.released;
  }
  protected async read(): Promise<ShardPage> {
    return { events: [], nextId: undefined, hasMore: false };
  }
  protected async close(): Promise<void> {}
  release(): void {
    this.releaseAll?.();
  }
}

function used(): number {
  const gc = globalThis.gc!;
  gc();
  gc();
  const { heapUsed, external } = process.memoryUsage();
  if (process.env.NETMESH_MEMORY_DEBUG) console.error({ heapUsed, external });
  return heapUsed + external;
}

async function child(): Promise<void> {
  const baseline = process.env.NETMESH_MEASURE_BASELINE;
  const create = baseline ? ((await import(baseline)) as { createBus: typeof createBus }).createBus : createBus;
  const objects = tokenEvents(POOL, 1000);
  // Load the hasher and warm up once, so only the bus under test differs between the two readings.
  await (await create({ adapter: new HoldingAdapter() })).shutdown({ deadlineMs: 1 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const before = used();
  const adapter = new HoldingAdapter();
  const bus = await create({
    adapter,
    shards: SHARDS,
    ringCapacity: 1 << 18,
    ringBytes: 128 * 1024 * 1024,
    backpressure: "fail-producer",
    adapterTimeoutMs: 600_000,
  } as Parameters<typeof createBus>[0]);
  let payload = 0;
  for (let i = 0; i < EVENTS; i++) {
    const json = JSON.stringify(objects[i & (POOL - 1)]);
    payload += Buffer.byteLength(json);
    // Hashes that split the events evenly over the shards (multiply-shift routing).
    const status = bus.ingestRaw({ json, hash: (i % SHARDS) * 2 ** 30 + 1 });
    if (status !== "accepted") throw new Error(`event ${i}: ${status}`);
    if ((i & 0xffff) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const after = used();
  // The inputs stay reachable until after the reading, or their collection would count for the bus.
  if (objects.length !== POOL) throw new Error("unreachable");
  const stats = bus.stats();
  if (stats.pending !== EVENTS) throw new Error(`expected ${EVENTS} pending, got ${stats.pending}`);
  process.stdout.write(
    JSON.stringify({ perEvent: (after - before) / EVENTS, payload: payload / EVENTS, pending: stats.pending }),
  );
  adapter.release();
  await bus.shutdown({ deadlineMs: 1 });
  process.exit(0);
}

interface Reading {
  readonly perEvent: number;
  readonly payload: number;
}

function measure(baseline?: string, payload: "bytes" | "text" = "bytes"): Reading {
  const output = execFileSync(
    process.execPath,
    ["--expose-gc", "--max-old-space-size=4096", "--import", "tsx", fileURLToPath(import.meta.url), "--child"],
    {
      env: { ...process.env, NETMESH_MEASURE_BASELINE: baseline ?? "", NETMESH_MEASURE_PAYLOAD: payload },
      encoding: "utf8",
    },
  );
  return JSON.parse(output) as Reading;
}

/** Prints the memory figures (ours and, with a baseline build, the baseline's). */
export function reportQueuedMemory(): void {
  const ours = measure();
  const line = (label: string, r: Reading) =>
    `${label}: ${r.perEvent.toFixed(1)} B per queued event for ${r.payload.toFixed(1)} B of payload ` +
    `(+${(r.perEvent - r.payload).toFixed(1)} B)`;
  console.log(`\nmemory at ${EVENTS.toLocaleString("en")} queued events (heap + external, after GC):`);
  console.log(`  ${line("ours, byte slabs (payload: bytes)", ours)}`);
  console.log(`  ${line("ours, texts (payload: text)", measure(undefined, "text"))}`);
  const baseline = process.env.NETMESH_BASELINE_CORE;
  if (baseline) console.log(`  ${line("baseline build", measure(baseline))}`);
  const overhead = ours.perEvent - ours.payload;
  console.log(
    `  target (byte slabs) ≤ payload + 32 B → +${overhead.toFixed(1)} B ${overhead <= 32 ? "MET" : "MISSED"}`,
  );
}

if (process.argv.includes("--child")) await child();
else if (process.argv[1] === fileURLToPath(import.meta.url)) reportQueuedMemory();
