import { describe, expect, it } from "vitest";
import { createBus, type EventBus } from "../src/bus.js";
import type { Batch } from "../src/contract/batch.js";
import { ScalingError } from "../src/errors.js";
import type { Shard } from "../src/shard/shard.js";
import type { Topology, TopologyEvent } from "../src/shard/topology.js";
import { ScriptedAdapter, liveSignal, readStore } from "./helpers.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A memory-backed adapter that takes `delayMs` per batch and records the global order of stored events. */
function recordingAdapter(delayMs: number) {
  const arrivals: { shard: number; firstSequence: number; size: number; texts: readonly string[] }[] = [];
  const adapter = new ScriptedAdapter([
    async (batch: Batch) => {
      if (delayMs > 0) await sleep(delayMs);
      await adapter.inner.onBatch(batch, liveSignal);
      arrivals.push({
        shard: batch.shard,
        firstSequence: batch.firstSequence,
        size: batch.events.length,
        texts: batch.events,
      });
    },
  ]);
  return { adapter, arrivals };
}

/** Per key, the `seq` values in the order the backend stored them: must be 0, 1, 2, … */
function expectPerKeyOrder(arrivals: ReturnType<typeof recordingAdapter>["arrivals"], keys: number) {
  const next = new Array<number>(keys).fill(0);
  for (const arrival of arrivals) {
    for (const text of arrival.texts) {
      const { k, seq } = JSON.parse(text) as { k: number; seq: number };
      expect(seq, `key ${k}`).toBe(next[k]);
      next[k]!++;
    }
  }
  return next;
}

function expectGapFreeSequences(arrivals: ReturnType<typeof recordingAdapter>["arrivals"]) {
  const next = new Map<number, number>();
  for (const { shard, firstSequence, size } of arrivals) {
    expect(firstSequence, `shard ${shard}`).toBe(next.get(shard) ?? 0);
    next.set(shard, firstSequence + size);
  }
}

function expectQuiescent(bus: EventBus) {
  const stats = bus.stats();
  expect(stats.pending).toBe(0);
  expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
  return stats;
}

describe("dynamic scaling", () => {
  it("scales up under sustained overload and back down when idle, with the default policy", async () => {
    const { adapter } = recordingAdapter(10);
    const bus = await createBus({
      adapter,
      shards: 2,
      ringCapacity: 4096,
      backpressure: "block",
      batch: { minSize: 100, maxSize: 200 },
      scaling: true,
    });
    const events: TopologyEvent[] = [];
    bus.onTopologyChange((event) => events.push(event));
    const started = performance.now();
    let produced = 0;
    // 16 independent, bounded producers (4 keys each), together far faster than 2 shards × 200 events
    // per 10 ms can store. Independent producers matter: one sequential producer in block mode would
    // wait on a single full shard and leave the others idle.
    const producers = Array.from({ length: 16 }, async (_, p) => {
      while (performance.now() - started < 4_000 && bus.shardCount < 6) {
        const burst = Array.from({ length: 100 }, (_, i) => ({ p, i }));
        const accepted = await bus.ingestManyOrWait(burst, { key: (_, i) => `p${p}-k${i % 4}` });
        produced += accepted; // not `produced += await …`, which would read `produced` before the wait
      }
    });
    await Promise.all(producers);
    const peak = bus.shardCount;
    expect(peak).toBeGreaterThan(3);
    expect(events.some((e) => e.type === "added" && e.reason === "auto")).toBe(true);
    await bus.flush();
    // Idle now: after the 10 s scale-down delay it drains, one cooldown at a time.
    const deadline = performance.now() + 20_000;
    while (bus.shardCount > 2 && performance.now() < deadline) await sleep(100);
    expect(bus.shardCount).toBeLessThanOrEqual(2);
    expect(events.some((e) => e.type === "removed" && e.reason === "auto")).toBe(true);
    const stats = expectQuiescent(bus);
    expect(stats).toMatchObject({ ingested: produced, dispatched: produced, dropped: 0 });
    const stored = await readStore(adapter.store);
    expect(new Set(stored.map((e) => e.messageId)).size).toBe(produced);
    await bus.shutdown();
  }, 40_000);

  it("loses nothing, keeps per-key order and gap-free sequences through manual scaling under load", async () => {
    const { adapter, arrivals } = recordingAdapter(2);
    const bus = await createBus({
      adapter,
      shards: 2,
      batch: { minSize: 20, maxSize: 200, maxDelayMs: 2 },
      scaling: { autoScale: false, maxShards: 12 },
    });
    const KEYS = 50;
    const keys = Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}` }));
    const seq = new Array<number>(KEYS).fill(0);
    let running = true;
    const producer = (async () => {
      for (let n = 0; running; n++) {
        const k = (n * 7) % KEYS;
        const status = await bus.ingestOrWait({ k, seq: seq[k] }, keys[k]);
        expect(status).toBe("accepted");
        seq[k]!++;
        if (n % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const added: number[] = [];
    const removed: number[] = [];
    for (let cycle = 0; cycle < 6; cycle++) {
      added.push(...bus.manualScaleUp(2));
      await sleep(15);
      removed.push(...(await bus.manualScaleDown(2)));
      await sleep(10);
    }
    running = false;
    await producer;
    await bus.flush();
    expect(added).toHaveLength(12);
    expect(new Set(added).size).toBe(12); // ids never reused
    expect(Math.min(...added)).toBe(2);
    expect(removed).toHaveLength(12);
    expect(bus.shardCount).toBe(2);

    const stats = expectQuiescent(bus);
    const total = seq.reduce((a, b) => a + b, 0);
    expect(stats).toMatchObject({ ingested: total, dispatched: total, dropped: 0 });
    expect(expectPerKeyOrder(arrivals, KEYS)).toEqual(seq);
    expectGapFreeSequences(arrivals);
    const stored = await readStore(adapter.store);
    expect(stored).toHaveLength(total);
    expect(new Set(stored.map((e) => e.messageId)).size).toBe(total);
    // Timestamps respect per-key order across shards too (the fence after each change).
    const byKey = new Map<number, { ts: number; seq: number }[]>();
    for (const event of stored) {
      const { k, seq: s } = JSON.parse(event.json) as { k: number; seq: number };
      byKey.set(k, [...(byKey.get(k) ?? []), { ts: event.timestamp, seq: s }]);
    }
    for (const list of byKey.values()) {
      list.sort((a, b) => a.ts - b.ts);
      expect(list.map((e) => e.seq)).toEqual(list.map((_, i) => i));
    }
    expect(stats.scaling).toEqual({ active: 2, draining: 0, removed: 12 });
    await bus.shutdown();
  }, 30_000);

  it("releases removed shards after many cycles and polls the sparse live set", async () => {
    const { adapter } = recordingAdapter(0);
    const bus = await createBus({ adapter, shards: 1, scaling: { autoStart: false, maxShards: 8 } });
    const topology = Reflect.get(bus, "topology") as Topology;
    const gone: WeakRef<Shard>[] = [];
    for (let cycle = 0; cycle < 40; cycle++) {
      for (const id of bus.manualScaleUp(3)) {
        gone.push(new WeakRef(topology.shards().find((s) => s.id === id)!));
        bus.ingest({ cycle, id }, { key: `c${cycle}-${id}` });
      }
      await bus.manualScaleDown(3);
    }
    await bus.flush();
    expect(topology.shards()).toHaveLength(1);
    expect(bus.shardIds()).toEqual([0]);
    const removedIds = [...new Set((await readStore(adapter.store)).map((e) => e.shard))].filter(
      (id) => id !== 0,
    );
    expect(removedIds.length).toBeGreaterThan(0);
    expect(expectQuiescent(bus)).toMatchObject({ ingested: 120, dispatched: 120 });
    expect(globalThis.gc, "tests run with --expose-gc (vitest.config.ts)").toBeTypeOf("function");
    globalThis.gc!();
    await sleep(10);
    globalThis.gc!();
    expect(gone).toHaveLength(120);
    expect(gone.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);

    // A fresh poll reads the live set only; the removed shards' events stay readable by naming them.
    const live = await bus.poll({ limit: 1_000 });
    expect(new Set(live.events.map((e) => e.shard))).toEqual(new Set(live.events.length > 0 ? [0] : []));
    const historic = await bus.poll({ limit: 1_000, shards: removedIds });
    expect(historic.events.length).toBe(120 - live.events.length);
    await bus.shutdown();
  }, 30_000);

  it("is refused without `scaling`, and checks counts", async () => {
    const bus = await createBus();
    expect(() => bus.manualScaleUp(1)).toThrow(ScalingError);
    await bus.shutdown();
    const dynamic = await createBus({ scaling: { autoStart: false, maxShards: 5, minShards: 2 }, shards: 2 });
    expect(() => dynamic.manualScaleUp(-1)).toThrow(/integer/);
    expect(dynamic.manualScaleUp(10)).toEqual([2, 3, 4]);
    expect(await dynamic.manualScaleDown(10)).toHaveLength(3);
    expect(dynamic.shardCount).toBe(2);
    await dynamic.shutdown();
    expect(() => dynamic.manualScaleUp(1)).toThrow(/shut down/);
  });
});
