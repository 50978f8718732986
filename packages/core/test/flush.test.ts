import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import { FatalError } from "../src/contract/adapter-errors.js";
import type { Batch } from "../src/contract/batch.js";
import { ScriptedAdapter, liveSignal, type Step, fastRetries, readStore } from "./helpers.js";

describe("flush()", () => {
  it("sends filling batches at once instead of waiting for size or delay", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({
      adapter,
      shards: 2,
      batch: { minSize: 1000, maxSize: 1000, maxDelayMs: 60_000 },
    });
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    const started = performance.now();
    await bus.flush();
    expect(performance.now() - started).toBeLessThan(500);
    expect(bus.stats()).toMatchObject({ ingested: 10, dispatched: 10, pending: 0 });
    expect(adapter.flushCalls).toBe(1);
    await bus.shutdown();
  });

  it("waits for the in-flight batch of a slow adapter", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: Step = async (batch) => {
      await gate;
      await adapter.inner.onBatch(batch, liveSignal);
    };
    const adapter = new ScriptedAdapter([slow, "ok"]);
    const bus = await createBus({ adapter, shards: 1, batch: { minSize: 1, maxSize: 100 } });
    for (let i = 0; i < 50; i++) bus.ingest({ i });
    let flushed = false;
    const flushing = bus.flush().then(() => {
      flushed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(flushed).toBe(false);
    release();
    await flushing;
    expect(bus.stats()).toMatchObject({ dispatched: 50, pending: 0 });
    await bus.shutdown();
  });

  it("is not fooled by evictions settling newer events while an older batch is in flight", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held: Batch[] = [];
    const slow: Step = async (batch) => {
      held.push(batch);
      await gate;
      await adapter.inner.onBatch(batch, liveSignal);
    };
    const adapter = new ScriptedAdapter([slow, "ok"]);
    const bus = await createBus({ adapter, shards: 1, ringCapacity: 8, batch: { minSize: 4, maxSize: 4 } });
    for (let i = 0; i < 4; i++) bus.ingest({ i });
    await new Promise((resolve) => setTimeout(resolve, 5)); // batch 0..3 is now in flight
    expect(held).toHaveLength(1);
    for (let i = 4; i < 8; i++) bus.ingest({ i });
    let flushed = false;
    const flushing = bus.flush().then(() => {
      flushed = true;
    });
    // Many more events than the ring holds: every queued event is evicted, settling more events than
    // the flush target, yet the in-flight batch (older) is still unsettled.
    for (let i = 8; i < 40; i++) bus.ingest({ i });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(flushed).toBe(false);
    release();
    await flushing;
    // Every pre-flush event is settled: 0..3 stored, 4..7 evicted (the pump may be busy with later ones).
    const stats = bus.stats();
    expect(stats.dispatched).toBeGreaterThanOrEqual(4);
    expect(stats.droppedBy.evicted).toBeGreaterThanOrEqual(4);
    expect((await readStore(adapter.store)).slice(0, 4).map((e) => JSON.parse(e.json).i)).toEqual([
      0, 1, 2, 3,
    ]);
    await bus.shutdown();
  });

  it("resolves promptly when batches are dropped (no deadline waited out)", async () => {
    const adapter = new ScriptedAdapter([new FatalError("rejected")]);
    const bus = await createBus({ adapter, shards: 4, batch: { minSize: 10, maxSize: 10 }, ...fastRetries });
    for (let i = 0; i < 100; i++) bus.ingest({ i });
    const started = performance.now();
    await bus.flush();
    expect(performance.now() - started).toBeLessThan(500);
    expect(bus.stats()).toMatchObject({ ingested: 100, dispatched: 0, dropped: 100, pending: 0 });
    await bus.shutdown();
  });

  it("is a barrier for events accepted before the call, even while producers keep going", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter, shards: 4, batch: { minSize: 500, maxSize: 1000 } });
    let running = true;
    let produced = 0;
    const producer = (async () => {
      while (running) {
        for (let i = 0; i < 100; i++) bus.ingest({ n: produced++ });
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const acceptedBefore = bus.stats().ingested;
    await bus.flush();
    expect(bus.stats().dispatched).toBeGreaterThanOrEqual(acceptedBefore);
    running = false;
    await producer;
    await bus.flush();
    expect(bus.stats()).toMatchObject({ ingested: produced, dispatched: produced, pending: 0 });
    await bus.shutdown();
  });
});
