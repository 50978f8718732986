import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { AdapterBase } from "../src/contract/adapter-base.js";
import type { ShardPage } from "../src/contract/adapter.js";
import type { Batch } from "../src/contract/batch.js";
import { createBus } from "../src/index.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";
import { readStore, ticks } from "./helpers.js";

// Batch calls borrow one reusable set of columns (ingest/event-columns.ts): these tests hold the
// promises that reuse must not bend — every call keeps its own events, whatever runs meanwhile, and
// no event outlives the call in the spare columns.

/** The `n` field of every stored event, per shard in stored order, and all of them sorted. */
async function storedNs(store: MemoryStore): Promise<{ all: string[]; byShard: Map<number, string[]> }> {
  const byShard = new Map<number, string[]>();
  const all: string[] = [];
  for (const event of await readStore(store)) {
    const n = (JSON.parse(event.json) as { n: string }).n;
    all.push(n);
    const shard = byShard.get(event.shard);
    if (shard === undefined) byShard.set(event.shard, [n]);
    else shard.push(n);
  }
  return { all: all.sort(), byShard };
}

const named = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => ({ n: `${prefix}${i}` }));

describe("batch ingest columns", () => {
  it("a key function that ingests a batch of its own leaves both batches whole", async () => {
    const store = new MemoryStore();
    const bus = await createBus({ adapter: new MemoryAdapter({ store }), shards: 4 });
    const inner = named("inner-", 5);
    let innerAccepted = -1;
    const outer = named("outer-", 10);
    const accepted = bus.ingestMany(outer, {
      key: (_, i) => {
        if (i === 3) innerAccepted = bus.ingestMany(inner, { key: "k-inner" });
        return "k-outer";
      },
    });
    expect([accepted, innerAccepted]).toEqual([10, 5]);
    await bus.flush();
    const { all, byShard } = await storedNs(store);
    expect(all).toEqual([...outer, ...inner].map((v) => v.n).sort());
    const outerShard = byShard.get(bus.shardFor("k-outer"))!.filter((n) => n.startsWith("outer-"));
    expect(outerShard).toEqual(outer.map((v) => v.n)); // routed by its own keys, in order
    await bus.shutdown();
  });

  it("waiting batches and a batch ingested meanwhile each keep their own events, in order", async () => {
    const store = new MemoryStore();
    const bus = await createBus({
      adapter: new MemoryAdapter({ store }),
      shards: 1,
      ringCapacity: 8,
      backpressure: "fail-producer",
      batch: { maxDelayMs: 0 },
    });
    const first = bus.ingestManyOrWait(named("a-", 40)); // fills the ring, then waits
    const second = bus.ingestManyOrWait(named("b-", 40)); // waits too, with columns of its own
    await ticks(2);
    let synchronous = 0;
    for (let round = 0; round < 200 && synchronous < 20; round++) {
      synchronous += bus.ingestMany(named(`c${round}-`, 1));
      await ticks();
    }
    expect(await first).toBe(40);
    expect(await second).toBe(40);
    await bus.flush();
    const stored = (await storedNs(store)).byShard.get(0)!;
    expect(stored.filter((n) => n.startsWith("a-"))).toEqual(named("a-", 40).map((v) => v.n));
    expect(stored.filter((n) => n.startsWith("b-"))).toEqual(named("b-", 40).map((v) => v.n));
    expect(stored.filter((n) => n.startsWith("c"))).toHaveLength(synchronous);
    expect(stored).toHaveLength(80 + synchronous);
    await bus.shutdown();
  });

  it("a batch refused as invalid leaves nothing behind for the next batch", async () => {
    const store = new MemoryStore();
    const bus = await createBus({ adapter: new MemoryAdapter({ store }), shards: 2 });
    expect(() => bus.ingestMany([...named("bad-", 3), { n: 1n }, ...named("late-", 3)])).toThrow();
    expect(() => bus.ingestRawMany([{ json: '{"n":"raw-0"}', hash: 1 }, { json: 5 } as never])).toThrow();
    expect(bus.ingestMany(named("good-", 2))).toBe(2);
    expect(bus.ingestRawMany([{ json: '{"n":"raw-good"}', hash: 7 }])).toBe(1);
    await bus.flush();
    expect((await storedNs(store)).all).toEqual(["good-0", "good-1", "raw-good"]);
    await bus.shutdown();
  });

  it("a batch larger than the spare columns, then a small one, are both stored whole", async () => {
    const store = new MemoryStore();
    const bus = await createBus({ adapter: new MemoryAdapter({ store }), shards: 2, ringCapacity: 131_072 });
    expect(bus.ingestMany(named("big-", 70_000))).toBe(70_000);
    expect(bus.ingestMany(named("small-", 3))).toBe(3);
    await bus.flush();
    const { all } = await storedNs(store);
    expect(all).toHaveLength(70_003);
    expect(all.filter((n) => n.startsWith("small-"))).toEqual(["small-0", "small-1", "small-2"]);
    await bus.shutdown();
  });

  it("no event outlives its call in the spare columns", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const bus = await createBus({ adapter: new DiscardingAdapter(), shards: 2 });
    // In a function of its own, so no local of the test still holds the events.
    const ingestPrepared = (count: number): WeakRef<object>[] => {
      // Prepared events are objects, so a WeakRef can tell when the last reference to one is gone.
      const events = named("gone-", count).map((value) => bus.prepare(value));
      expect(bus.ingestRawMany(events)).toBe(count);
      return events.map((event) => new WeakRef(event));
    };
    const refs = ingestPrepared(50);
    await bus.flush();
    await ticks(2);
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    await bus.shutdown();
  });
});

/** Takes every batch and keeps nothing of it. */
class DiscardingAdapter extends AdapterBase {
  readonly name = "discarding";
  readonly capabilities = { ...new MemoryAdapter().capabilities, streamingReads: false, listsShards: false };
  protected async open(): Promise<void> {}
  protected async write(_batch: Batch): Promise<void> {}
  protected async read(): Promise<ShardPage> {
    return { events: [], nextId: undefined, hasMore: false };
  }
  protected async close(): Promise<void> {}
}
