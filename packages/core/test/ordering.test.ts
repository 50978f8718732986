import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import { parseMessageId } from "../src/contract/batch.js";
import { ScriptedAdapter, readStore, ticks } from "./helpers.js";

describe("ordering and sequences", () => {
  it("keeps per-key order through the MemoryAdapter across many batches and shards", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({
      adapter,
      shards: 4,
      ringCapacity: 1024,
      batch: { minSize: 16, maxSize: 64 },
    });
    const keys = Array.from({ length: 50 }, (_, k) => ({ key: `session-${k}` }));
    const next = new Array<number>(50).fill(0);
    for (let round = 0; round < 40; round++) {
      for (let n = 0; n < 500; n++) {
        const k = (n * 7 + round) % 50;
        const status = bus.ingest({ session: k, seq: next[k] }, keys[k]);
        expect(status).toBe("accepted");
        next[k]!++;
      }
      await ticks();
    }
    await bus.flush();
    const stats = bus.stats();
    expect(stats).toMatchObject({ ingested: 20_000, dispatched: 20_000, dropped: 0 });
    expect(stats.batches).toBeGreaterThan(20_000 / 64 - 1);

    const events = await readStore(adapter.store);
    expect(events).toHaveLength(20_000);
    const seen = new Array<number>(50).fill(0);
    const shardOfKey = new Map<number, number>();
    for (const event of events) {
      const { session, seq } = JSON.parse(event.json) as { session: number; seq: number };
      expect(seq).toBe(seen[session]);
      seen[session]!++;
      // Same key, same shard, and the one the bus says.
      expect(shardOfKey.get(session) ?? event.shard).toBe(event.shard);
      shardOfKey.set(session, event.shard);
      expect(bus.shardFor(`session-${session}`)).toBe(event.shard);
    }
    expect(seen).toEqual(next);
    await bus.shutdown();
  });

  it("numbers events gap-free per shard across batches, from 0, with stable message ids", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter, shards: 3, ringCapacity: 256, batch: { minSize: 5, maxSize: 7 } });
    for (let i = 0; i < 3000; i++) {
      bus.ingest({ i });
      if (i % 100 === 0) await ticks();
    }
    await bus.flush();
    const bySequence = new Map<number, number>();
    for (const call of adapter.calls) {
      expect(call.firstSequence).toBe(bySequence.get(call.shard) ?? 0);
      expect(call.size).toBeLessThanOrEqual(7);
      bySequence.set(call.shard, call.firstSequence + call.size);
    }
    const totalSequenced = [...bySequence.values()].reduce((a, b) => a + b, 0);
    expect(totalSequenced).toBe(3000);
    for (const shard of bus.stats().shards) expect(shard.nextSequence).toBe(bySequence.get(shard.id) ?? 0);

    const ids = new Set<string>();
    for (const event of await readStore(adapter.store)) {
      const parts = parseMessageId(event.messageId!);
      expect(parts).toMatchObject({ producer: bus.producer, shard: event.shard });
      ids.add(event.messageId!);
    }
    expect(ids.size).toBe(3000);
    await bus.shutdown();
  });

  it("stamps strictly increasing insertion timestamps per shard, close to the wall clock", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter, shards: 2, batch: { minSize: 10, maxSize: 100 } });
    const before = Date.now() * 1000;
    for (let i = 0; i < 5000; i++) bus.ingest({ i });
    await bus.flush();
    const after = Date.now() * 1000;
    const last = new Map<number, number>();
    for (const event of await readStore(adapter.store)) {
      expect(event.timestamp).toBeGreaterThan(last.get(event.shard) ?? 0);
      last.set(event.shard, event.timestamp);
      expect(event.timestamp).toBeGreaterThanOrEqual(before - 5_000);
      expect(event.timestamp).toBeLessThanOrEqual(after + 10_000);
    }
    await bus.shutdown();
  });
});
