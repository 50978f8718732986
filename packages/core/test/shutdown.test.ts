import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import { ConnectionError, FatalError } from "../src/contract/adapter-errors.js";
import { MemoryStore } from "../src/memory/memory-store.js";
import { ScriptedAdapter, fastRetries, readStore } from "./helpers.js";

describe("shutdown()", () => {
  it("loses nothing while producers are mid-stream", async () => {
    const store = new MemoryStore();
    const adapter = new ScriptedAdapter(["ok"], store);
    const bus = await createBus({
      adapter,
      shards: 4,
      ringCapacity: 4096,
      batch: { minSize: 64, maxSize: 512 },
    });
    const closedSeen: number[] = [];
    const producers = Array.from({ length: 6 }, async (_, p) => {
      for (let n = 0; n < 5_000; n++) {
        if (bus.ingest({ p, n }, { key: `producer-${p}` }) === "closed") {
          closedSeen.push(p);
          return;
        }
        if (n % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 15));
    const report = await bus.shutdown();
    await Promise.all(producers);

    expect(closedSeen.length).toBeGreaterThan(0); // shutdown really happened mid-stream
    const { stats } = report;
    expect(stats.pending).toBe(0);
    expect(stats.ingested).toBeGreaterThan(0);
    expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
    expect(report.lossy).toBe(false);
    expect(report.errors).toEqual([]);
    const stored = await readStore(store);
    expect(stored).toHaveLength(stats.dispatched);
    expect(new Set(stored.map((e) => e.messageId)).size).toBe(stored.length);
    // Per producer: a gap-free prefix 0..k, in order.
    const next = new Map<number, number>();
    for (const event of stored) {
      const { p, n } = JSON.parse(event.json) as { p: number; n: number };
      expect(n).toBe(next.get(p) ?? 0);
      next.set(p, n + 1);
    }
    expect(bus.ingest({ late: true })).toBe("closed");
    expect(bus.stats().rejectedBy.closed).toBeGreaterThanOrEqual(1);
  });

  it("is shared by concurrent callers and calls the adapter's flush and shutdown exactly once", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter });
    for (let i = 0; i < 1000; i++) bus.ingest({ i });
    const [a, b] = await Promise.all([bus.shutdown(), bus.shutdown()]);
    expect(a).toBe(b);
    expect(await bus.shutdown()).toBe(a);
    expect(adapter.flushCalls).toBe(1);
    expect(adapter.shutdownCalls).toBe(1);
    expect(a.stats).toMatchObject({ ingested: 1000, dispatched: 1000, pending: 0 });
    expect(bus.isClosed).toBe(true);
    expect(await bus.isHealthy()).toBe(false);
  });

  it("with a deadline, drops what is still pending when it passes and says so", async () => {
    const adapter = new ScriptedAdapter(["hang"]);
    const bus = await createBus({
      adapter,
      shards: 2,
      batch: { minSize: 10, maxSize: 10 },
      adapterTimeoutMs: 60_000,
    });
    for (let i = 0; i < 100; i++) bus.ingest({ i });
    const started = performance.now();
    const report = await bus.shutdown({ deadlineMs: 50 });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(report.lossy).toBe(true);
    expect(report.stats).toMatchObject({ ingested: 100, dispatched: 0, dropped: 100, pending: 0 });
    expect(report.stats.droppedBy.shutdownDeadline).toBe(100);
    // The two in-flight batches (one per shard) may have reached the backend; the queued ones did not.
    expect(report).toMatchObject({ uncertain: 20, lost: 80 });
    expect(report.stats.uncertainBy.shutdownDeadline).toBe(20);
  });

  it("returns within its deadline whatever the adapter does: hung writes, flush and shutdown", async () => {
    const hang = () => new Promise<void>(() => {});
    const adapter = new ScriptedAdapter(["hang"]);
    adapter.flush = hang;
    adapter.shutdown = hang;
    const bus = await createBus({
      adapter,
      shards: 4,
      batch: { minSize: 10, maxSize: 10 },
      adapterTimeoutMs: 60_000,
    });
    for (let i = 0; i < 400; i++) bus.ingest({ i }, { key: `k${i}` });
    for (const deadlineMs of [300]) {
      const started = performance.now();
      const report = await bus.shutdown({ deadlineMs });
      const took = performance.now() - started;
      expect(took).toBeLessThan(deadlineMs + 100);
      expect(took).toBeGreaterThanOrEqual(deadlineMs - 5);
      expect(report.stats).toMatchObject({ ingested: 400, dispatched: 0, dropped: 400, pending: 0 });
      expect(report.uncertain).toBe(40); // one in-flight batch of 10 per shard
      expect(report.lost).toBe(360);
      expect(report.errors.map((error) => error.message)).toEqual([
        expect.stringMatching(/scripted\.flush timed out after \d+ ms/),
        expect.stringMatching(/scripted\.shutdown timed out after \d+ ms/),
      ]);
    }
  });

  it("counts a batch that failed without reaching the backend as lost, and a timed-out one as uncertain", async () => {
    const refused = new ConnectionError("connection refused", { notStored: true });
    const adapter = new ScriptedAdapter([refused, refused, "hang", "hang"]);
    const bus = await createBus({
      adapter,
      shards: 1,
      batch: { minSize: 10, maxSize: 10 },
      retries: 1,
      adapterTimeoutMs: 30,
      ...fastRetries,
    });
    for (let i = 0; i < 20; i++) bus.ingest({ i });
    await bus.flush();
    const report = await bus.shutdown();
    expect(report.stats.droppedBy).toMatchObject({ retriesExhausted: 10, timedOut: 10 });
    expect(report).toMatchObject({ lost: 10, uncertain: 10 });
    expect(report.stats.uncertainBy).toMatchObject({ retriesExhausted: 0, timedOut: 10 });
  });

  it("reports adapter shutdown failures without throwing", async () => {
    const adapter = new ScriptedAdapter();
    adapter.shutdown = async () => {
      throw new FatalError("connection already gone");
    };
    const bus = await createBus({ adapter });
    bus.ingest({ x: 1 });
    const report = await bus.shutdown();
    expect(report.lossy).toBe(false);
    expect(report.errors.map((e) => e.message)).toEqual(["connection already gone"]);
  });

  it("releases producers waiting for room with 'closed'", async () => {
    const adapter = new ScriptedAdapter(["hang"]);
    const bus = await createBus({
      adapter,
      shards: 1,
      ringCapacity: 4,
      backpressure: "block",
      batch: { minSize: 4, maxSize: 4 },
      adapterTimeoutMs: 60_000,
    });
    for (let i = 0; i < 4; i++) bus.ingest({ i });
    await new Promise((resolve) => setTimeout(resolve, 5)); // the 4 are in flight, hanging
    for (let i = 4; i < 8; i++) bus.ingest({ i });
    const waiting = bus.ingestOrWait({ i: 8 });
    const report = await bus.shutdown({ deadlineMs: 20 });
    expect(await waiting).toBe("closed");
    expect(report.stats).toMatchObject({ ingested: 8, dropped: 8, pending: 0 });
  });

  it("rejects an invalid deadline without closing the bus", async () => {
    const bus = await createBus();
    await expect(bus.shutdown({ deadlineMs: -1 })).rejects.toBeInstanceOf(RangeError);
    expect(bus.isClosed).toBe(false);
    expect(bus.ingest({ ok: true })).toBe("accepted");
    await bus.shutdown();
  });

  it("supports `await using` (Symbol.asyncDispose)", async () => {
    const adapter = new ScriptedAdapter();
    {
      await using bus = await createBus({ adapter });
      bus.ingest({ scoped: true });
    }
    expect(adapter.shutdownCalls).toBe(1);
    expect(await readStore(adapter.store)).toHaveLength(1);
  });
});
