import { describe, expect, it } from "vitest";
import { type EventBus, createBus } from "../src/bus.js";
import type { ShardPage } from "../src/contract/adapter.js";
import { ReadAhead } from "../src/consumer/read-ahead.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";

/** A memory adapter that counts its pollShard calls and the entries they return, and can fail the next ones. */
class CountingAdapter extends MemoryAdapter {
  calls = 0;
  entries = 0;
  failNext = 0;
  override pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    this.calls++;
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new Error("read failed"));
    }
    return super.pollShard(shard, afterId, limit).then((page) => {
      this.entries += page.events.length;
      return page;
    });
  }
}

/** Every event's `i`, in the order a `bus.poll({ limit })` loop from the start returns them. */
async function pollLoop(bus: EventBus, limit: number, maxPolls: number): Promise<number[]> {
  const seen: number[] = [];
  let cursor: string | undefined;
  for (let polls = 0; polls < maxPolls; polls++) {
    const page = await bus.poll({ limit, ...(cursor !== undefined && { cursor }) });
    for (const event of page.events) seen.push(JSON.parse(event.json).i);
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  return seen;
}

describe("poll read-ahead", () => {
  it("serves a full page from a window read ahead at exactly its position, and reads afresh otherwise", async () => {
    const adapter = new CountingAdapter();
    const bus = await createBus({ adapter, shards: 1 });
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    await bus.flush();
    const ahead = new ReadAhead();
    const numbers = (page: ShardPage) => page.events.map((e) => JSON.parse(e.json).i);
    const first = await adapter.pollShard(0, undefined, 4);
    adapter.calls = 0;

    ahead.start(adapter, 0, first.nextId, 4); // one read of a 4-page window: events 4 … 9
    const served = await ahead.read(adapter, 0, first.nextId, 4);
    expect(numbers(served)).toEqual([4, 5, 6, 7]);
    expect(served.hasMore).toBe(true);
    expect(adapter.calls).toBe(1);

    // Two left in the window, short of a page: read afresh, which sees what was written since.
    for (let i = 10; i < 12; i++) bus.ingest({ i });
    await bus.flush();
    const grown = await ahead.read(adapter, 0, served.nextId, 4);
    expect(numbers(grown)).toEqual([8, 9, 10, 11]);
    expect(adapter.calls).toBe(2);

    ahead.start(adapter, 0, first.nextId, 4); // a window at another position than asked: read afresh
    const other = await ahead.read(adapter, 0, served.nextId, 2);
    expect(numbers(other)).toEqual([8, 9]);
    expect(adapter.calls).toBe(4);

    adapter.failNext = 1; // a failed window read: read afresh
    ahead.start(adapter, 0, first.nextId, 4);
    const retried = await ahead.read(adapter, 0, first.nextId, 4);
    expect(numbers(retried)).toEqual([4, 5, 6, 7]);
    expect(adapter.calls).toBe(6);
    await bus.shutdown();
  });

  it("a window serves page after page while the shard has more, with far fewer adapter reads", async () => {
    const adapter = new CountingAdapter();
    const bus = await createBus({ adapter, shards: 1 });
    for (let i = 0; i < 1_000; i++) bus.ingest({ i });
    await bus.flush();
    adapter.calls = 0;
    const seen = await pollLoop(bus, 50, 100);
    expect(seen).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(adapter.calls).toBeLessThan(10); // a read per 4 pages (plus the first and the last), not 20
    await bus.shutdown();
  });

  it("once a shard runs dry, the others' top-ups come from their windows: each entry is read about once", async () => {
    const adapter = new CountingAdapter();
    const bus = await createBus({ adapter, shards: 2 });
    // One shard gets a quarter of the events, so for most of the loop its share is topped up by the other.
    for (let i = 0; i < 4_000; i++) bus.ingest({ i }, { key: i < 1_000 ? "few" : `many-${i}` });
    await bus.flush();
    const counts = await Promise.all(
      bus.shardIds().map(async (shard) => (await adapter.pollShard(shard, undefined, 10_000)).events.length),
    );
    expect(Math.min(...counts)).toBeLessThan(1_500);
    adapter.calls = 0;
    adapter.entries = 0;
    const seen = await pollLoop(bus, 100, 1_000);
    expect(seen.length).toBe(4_000);
    expect(new Set(seen).size).toBe(4_000);
    // Top-ups read past the window would move the busy shard off it at every poll (~7,300 entries read).
    expect(adapter.entries).toBeLessThan(4_400);
  });

  it("no window for pages the adapter reads ahead itself (readsAheadFrom): one read per page", async () => {
    class AheadAdapter extends CountingAdapter {
      override readonly capabilities = { ...new MemoryAdapter().capabilities, readsAheadFrom: 50 };
    }
    const adapter = new AheadAdapter();
    const bus = await createBus({ adapter, shards: 1 });
    for (let i = 0; i < 1_000; i++) bus.ingest({ i });
    await bus.flush();
    const poll = async (limit: number, cursor?: string) => {
      adapter.calls = 0;
      const page = await bus.poll({ limit, ...(cursor !== undefined && { cursor }) });
      await new Promise((resolve) => setTimeout(resolve, 5)); // a window read would have started by now
      return { page, calls: adapter.calls };
    };
    let cursor: string | undefined;
    const seen: number[] = [];
    for (let polls = 0; polls < 10; polls++) {
      const { page, calls } = await poll(50, cursor);
      expect(calls).toBe(1); // the page itself, and nothing read ahead
      expect(page.hasMore).toBe(true);
      for (const event of page.events) seen.push(JSON.parse(event.json).i);
      cursor = page.cursor;
    }
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => i));
    // A page below the adapter's size: the bus reads ahead as for any adapter.
    const small = await poll(20, cursor);
    expect(small.page.events.map((event) => JSON.parse(event.json).i)).toEqual(
      Array.from({ length: 20 }, (_, i) => 500 + i),
    );
    expect(small.calls).toBe(2);
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
