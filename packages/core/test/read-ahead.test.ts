import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { ShardPage } from "../src/contract/adapter.js";
import { ReadAhead } from "../src/consumer/read-ahead.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";

/** A memory adapter that counts its pollShard calls and can fail the next ones. */
class CountingAdapter extends MemoryAdapter {
  calls = 0;
  failNext = 0;
  override pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    this.calls++;
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error("read failed"));
    }
    return super.pollShard(shard, afterId, limit);
  }
}

describe("poll read-ahead", () => {
  it("uses a page read ahead only for the same position and size, and only a full one", async () => {
    const adapter = new CountingAdapter();
    const bus = await createBus({ adapter, shards: 1 });
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    await bus.flush();
    const ahead = new ReadAhead();
    const first = await adapter.pollShard(0, undefined, 4);
    adapter.calls = 0;

    ahead.start(adapter, 0, first.nextId, 4); // full: 4 of the 6 left
    const full = await ahead.read(adapter, 0, first.nextId, 4);
    expect(adapter.calls).toBe(1);
    expect(full.events.map((e) => JSON.parse(e.json).i)).toEqual([4, 5, 6, 7]);

    ahead.start(adapter, 0, full.nextId, 4); // short: only 2 left, so it is read again
    for (let i = 10; i < 12; i++) bus.ingest({ i });
    await bus.flush();
    const grown = await ahead.read(adapter, 0, full.nextId, 4);
    expect(adapter.calls).toBe(3);
    expect(grown.events.map((e) => JSON.parse(e.json).i)).toEqual([8, 9, 10, 11]);

    ahead.start(adapter, 0, first.nextId, 4); // another position: read afresh
    const other = await ahead.read(adapter, 0, full.nextId, 2);
    expect(adapter.calls).toBe(5);
    expect(other.events.map((e) => JSON.parse(e.json).i)).toEqual([8, 9]);

    adapter.failNext = 1; // a failed read-ahead is read again
    ahead.start(adapter, 0, first.nextId, 4);
    const retried = await ahead.read(adapter, 0, first.nextId, 4);
    expect(adapter.calls).toBe(7);
    expect(retried.events.map((e) => JSON.parse(e.json).i)).toEqual([4, 5, 6, 7]);
    await bus.shutdown();
  });

  it("a poll loop under concurrent producers reads every event exactly once, in per-key order", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 4, batch: { maxDelayMs: 1 } });
    const TOTAL = 20_000;
    const producing = (async () => {
      for (let n = 0; n < TOTAL; n++) {
        bus.ingest({ n, k: n % 7 }, { key: `k${n % 7}` });
        if (n % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    const seen: number[] = [];
    const last = new Map<number, number>();
    let cursor: string | undefined;
    const until = Date.now() + 15_000;
    while (seen.length < TOTAL && Date.now() < until) {
      const page = await bus.poll({ limit: 300, ...(cursor !== undefined && { cursor }) });
      for (const event of page.events) {
        const { n, k } = JSON.parse(event.json) as { n: number; k: number };
        expect(n).toBeGreaterThan(last.get(k) ?? -1);
        last.set(k, n);
        seen.push(n);
      }
      cursor = page.cursor;
      if (!page.hasMore) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await producing;
    expect(seen.length).toBe(TOTAL);
    expect(new Set(seen).size).toBe(TOTAL);
    await bus.shutdown();
  });
});
