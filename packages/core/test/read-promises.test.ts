/**
 * The read-side promises of the README (poll, read-ahead, subscribe, order: "insertion"), each checked
 * where an earlier version broke it.
 */
import { describe, expect, it } from "vitest";
import { type EventBus, createBus } from "../src/bus.js";
import type { ShardPage, StoredEvent } from "../src/contract/adapter.js";
import type { Batch } from "../src/contract/batch.js";
import type { PollRequest } from "../src/consumer/poll.js";
import { createReader } from "../src/consumer/reader.js";
import type { SubscribeOptions } from "../src/consumer/subscribe.js";
import { BusClosedError, InvalidPollRequestError } from "../src/errors.js";
import { nowMicros } from "../src/ingest/clock.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import type { Topology } from "../src/shard/topology.js";

/** A memory adapter without streaming reads whose `pollShard` fails a shard's next reads on demand. */
class FlakyAdapter extends MemoryAdapter {
  override readonly capabilities = { ...new MemoryAdapter().capabilities, streamingReads: false };
  /** Per shard, how many of its next reads fail (counted only while `when()` holds). */
  readonly failing = new Map<number, number>();
  when: () => boolean = () => true;
  override pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    const left = this.failing.get(shard) ?? 0;
    if (left > 0 && this.when()) {
      this.failing.set(shard, left - 1);
      return Promise.reject(new Error(`shard ${shard} read failed`));
    }
    return super.pollShard(shard, afterId, limit);
  }
}

/**
 * A memory adapter without streaming reads whose first read of each shard in `skipping` examines
 * entries and returns none of them (as an adapter does past corrupt entries): an empty page that says
 * more follows, with the cursor moved to the start.
 */
class SkippingAdapter extends MemoryAdapter {
  override readonly capabilities = { ...new MemoryAdapter().capabilities, streamingReads: false };
  readonly skipping = new Set<number>();
  /** Shards whose every read says more follows and brings nothing, without moving (an adapter fault). */
  readonly stalling = new Set<number>();
  override pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (this.stalling.has(shard)) return Promise.resolve({ events: [], nextId: afterId, hasMore: true });
    if (afterId === undefined && this.skipping.delete(shard)) {
      return Promise.resolve({ events: [], nextId: "0", hasMore: true });
    }
    return super.pollShard(shard, afterId, limit);
  }
}

/**
 * A memory adapter whose reads wait for `readGate` before they reach the store, and whose writes to
 * the shards in `slowShards` wait for `writeGate` (a batch in flight for as long as a test wants).
 */
class GatedAdapter extends MemoryAdapter {
  readGate: Promise<void> = Promise.resolve();
  writeGate: Promise<void> = Promise.resolve();
  readonly slowShards = new Set<number>();
  override async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    await this.readGate;
    return super.pollShard(shard, afterId, limit);
  }
  protected override async write(batch: Batch): Promise<void> {
    if (this.slowShards.has(batch.shard)) await this.writeGate;
    return super.write(batch);
  }
}

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Waits until `condition` holds (checked every millisecond, for at most 2 s). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met within 2 s");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Polls in insertion order from `cursor` until a page says nothing more; every event, page after page. */
async function pageInsertion(bus: EventBus, limit: number, cursor?: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for (let polls = 0; polls < 1_000; polls++) {
    const page = await bus.poll({ limit, order: "insertion", ...(cursor !== undefined && { cursor }) });
    events.push(...page.events);
    cursor = page.cursor;
    if (!page.hasMore && page.failedShards.length === 0) return events;
  }
  throw new Error("paging did not end");
}

/** Whether `events` are in non-decreasing timestamp order. */
function timeOrdered(events: readonly StoredEvent[]): boolean {
  return events.every((event, i) => i === 0 || event.timestamp >= events[i - 1]!.timestamp);
}

/** A partition key per shard of the bus, by shard id. */
function keysByShard(bus: EventBus): Map<number, string> {
  const keys = new Map<number, string>();
  for (let k = 0; keys.size < bus.shardCount; k++) {
    if (!keys.has(bus.shardFor(`k${k}`))) keys.set(bus.shardFor(`k${k}`), `k${k}`);
  }
  return keys;
}

describe("read-ahead", () => {
  it("reports hasMore for a window's last page as a fresh read would, also for entries stored since", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 1 });
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    await bus.flush();
    // The first poll starts a window over events 2 … 9, which then reaches the end of the shard.
    const first = await bus.poll({ limit: 2 });
    for (let i = 10; i < 12; i++) bus.ingest({ i });
    await bus.flush();
    const seen = first.events.map((event) => JSON.parse(event.json).i);
    let cursor = first.cursor;
    for (let polls = 0; polls < 20; polls++) {
      const page = await bus.poll({ limit: 2, cursor });
      seen.push(...page.events.map((event) => JSON.parse(event.json).i));
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i));
    await bus.shutdown();
  });
});

describe("subscribe() options", () => {
  it.each<[string, SubscribeOptions]>([
    ["pageSize", { pageSize: 2.5 }],
    ["pageSize", { pageSize: Number.NaN }],
    ["order", { order: "random" as "none" }],
    ["shards", { shards: [-1] }],
    ["shards", { shards: [0.5] }],
    ["shards", { shards: "0" as unknown as number[] }],
  ])(
    "refuses a bad %s at once with InvalidPollRequestError (%j), also with a streaming adapter",
    async (field, options) => {
      const bus = await createBus({ adapter: new MemoryAdapter(), shards: 2 });
      let error: unknown;
      try {
        bus.subscribe(options);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InvalidPollRequestError);
      expect(error).toMatchObject({ code: "INVALID_POLL_REQUEST", field });
      await bus.shutdown({ subscriptionGraceMs: 0 });
    },
  );
});

describe("poll requests", () => {
  it.each([undefined, null, 5, "limit=10"])(
    "refuses %j as a request with InvalidPollRequestError, not a TypeError",
    async (request) => {
      const adapter = new MemoryAdapter();
      const bus = await createBus({ adapter, shards: 2 });
      const reader = await createReader({
        adapter: new MemoryAdapter({ store: adapter.store }),
        shards: [0, 1],
      });
      for (const poll of [
        bus.poll(request as unknown as PollRequest),
        reader.poll(request as unknown as PollRequest),
      ]) {
        await expect(poll).rejects.toBeInstanceOf(InvalidPollRequestError);
        await expect(poll).rejects.toMatchObject({ code: "INVALID_POLL_REQUEST", field: "request" });
      }
      await reader.close();
      await bus.shutdown();
    },
  );
});

describe("subscribe() after shutdown", () => {
  it("ends only once everything stored was delivered, not at a page whose shard read failed", async () => {
    const adapter = new FlakyAdapter();
    const bus = await createBus({ adapter, shards: 2 });
    const keys = keysByShard(bus);
    const seen: number[] = [];
    const reading = (async () => {
      for await (const event of bus.subscribe({ pageSize: 100 })) seen.push(JSON.parse(event.json).i);
    })();
    for (let i = 0; i < 20; i++) bus.ingest({ i }, { key: keys.get(i % 2)! });
    // Shard 1's reads fail a few times once shutdown has stored everything.
    adapter.when = () => Reflect.get(bus, "drained") === true;
    adapter.failing.set(1, 3);
    await bus.shutdown();
    await reading;
    expect(adapter.failing.get(1)).toBe(0);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe("bus.poll around shutdown", () => {
  it("rejects with BusClosedError when shutdown closes the adapter under its reads, instead of failing every shard", async () => {
    const adapter = new GatedAdapter();
    const bus = await createBus({ adapter, shards: 2 });
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    await bus.flush();
    const reads = gate();
    adapter.readGate = reads.promise;
    const polling = bus.poll({ limit: 10 });
    polling.catch(() => {});
    await bus.shutdown();
    reads.open();
    await expect(polling).rejects.toBeInstanceOf(BusClosedError);
    await expect(polling).rejects.toMatchObject({ code: "BUS_CLOSED" });
  });
});

/** Stores events 0–4 on shard 1, then (stamped later) 5–9 on shard 0, of a 2-shard bus. */
async function olderOnShardOne(bus: EventBus): Promise<void> {
  const keys = keysByShard(bus);
  for (let i = 0; i < 5; i++) bus.ingest({ i }, { key: keys.get(1)! });
  await bus.flush();
  await new Promise((resolve) => setTimeout(resolve, 2));
  for (let i = 5; i < 10; i++) bus.ingest({ i }, { key: keys.get(0)! });
  await bus.flush();
}

describe('order: "insertion"', () => {
  it("holds every shard back while one shard's read fails, and lists none of them as stalled", async () => {
    const adapter = new FlakyAdapter();
    const bus = await createBus({ adapter, shards: 2 });
    await olderOnShardOne(bus);
    adapter.failing.set(1, 1);
    const held = await bus.poll({ limit: 2, order: "insertion" });
    expect(held).toMatchObject({ events: [], failedShards: [1], stalledShards: [] });
    const events = [...held.events, ...(await pageInsertion(bus, 2, held.cursor))];
    expect(events.map((event) => JSON.parse(event.json).i)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(timeOrdered(events)).toBe(true);
    await bus.shutdown();
  });

  it("holds every shard back behind a shard whose page is empty but says more follows", async () => {
    const adapter = new SkippingAdapter();
    const bus = await createBus({ adapter, shards: 2 });
    await olderOnShardOne(bus);
    adapter.skipping.add(1);
    const held = await bus.poll({ limit: 2, order: "insertion" });
    // Shard 1's next events are unknown, so any of shard 0's may be later than one of them.
    expect(held).toMatchObject({ events: [], failedShards: [], stalledShards: [], hasMore: true });
    const events = await pageInsertion(bus, 2, held.cursor);
    expect(events.map((event) => JSON.parse(event.json).i)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(timeOrdered(events)).toBe(true);
    await bus.shutdown();
  });

  it("does not wait for a stalled shard (an empty page that never moves): it is reported, the others read on", async () => {
    const adapter = new SkippingAdapter();
    const bus = await createBus({ adapter, shards: 2 });
    await olderOnShardOne(bus);
    adapter.stalling.add(1);
    const page = await bus.poll({ limit: 10, order: "insertion" });
    expect(page.stalledShards).toEqual([1]);
    expect(page.events.map((event) => JSON.parse(event.json).i)).toEqual([5, 6, 7, 8, 9]);
    await bus.shutdown();
  });

  it("holds back events stamped after the poll began: an older one may still be on its way to the store", async () => {
    const adapter = new GatedAdapter();
    const bus = await createBus({ adapter, shards: 2, batch: { maxDelayMs: 0 } });
    const keys = keysByShard(bus);
    const reads = gate();
    adapter.readGate = reads.promise;
    const polling = bus.poll({ limit: 10, order: "insertion" }); // nothing pending when it begins
    const writes = gate();
    adapter.writeGate = writes.promise;
    adapter.slowShards.add(1);
    bus.ingest({ n: "older" }, { key: keys.get(1)! }); // in flight until the write gate opens
    await new Promise((resolve) => setTimeout(resolve, 2));
    bus.ingest({ n: "newer" }, { key: keys.get(0)! });
    await until(() => adapter.store.size(0) === 1);
    reads.open();
    const first = await polling;
    writes.open();
    await bus.flush();
    const events = [...first.events, ...(await pageInsertion(bus, 10, first.cursor))];
    expect(events.map((event) => JSON.parse(event.json).n)).toEqual(["older", "newer"]);
    expect(timeOrdered(events)).toBe(true);
    await bus.shutdown();
  });

  it("after shutdown, holds back nothing for events that can no longer be accepted", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 2 });
    const keys = keysByShard(bus);
    // Timestamps run ahead of the clock under bursts (and jump after a scaling fence): shard 1's here.
    const topology = Reflect.get(bus, "topology") as Topology;
    topology.shards().find((shard) => shard.id === 1)!.lastTimestamp = nowMicros() + 60_000_000;
    for (let i = 0; i < 6; i++) bus.ingest({ i }, { key: keys.get(i % 2)! });
    const seen: number[] = [];
    const reading = (async () => {
      for await (const event of bus.subscribe({ order: "insertion" })) seen.push(JSON.parse(event.json).i);
    })();
    await bus.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await bus.shutdown();
    await reading;
    expect(seen).toEqual([0, 2, 4, 1, 3, 5]);
  });

  it("does not report shards held back behind an event in flight as stalled", async () => {
    const adapter = new GatedAdapter();
    const bus = await createBus({ adapter, shards: 2, batch: { maxDelayMs: 0 } });
    const keys = keysByShard(bus);
    const writes = gate();
    adapter.writeGate = writes.promise;
    adapter.slowShards.add(1);
    bus.ingest({ n: "older" }, { key: keys.get(1)! });
    await new Promise((resolve) => setTimeout(resolve, 2));
    for (let i = 0; i < 5; i++) bus.ingest({ n: `newer-${i}` }, { key: keys.get(0)! });
    await until(() => adapter.store.size(0) === 5);
    // Shard 0 has more than this page, and all of it is later than the event in flight on shard 1.
    const held = await bus.poll({ limit: 2, order: "insertion" });
    expect(held).toMatchObject({ events: [], failedShards: [], stalledShards: [], hasMore: false });
    writes.open();
    await bus.flush();
    const events = await pageInsertion(bus, 2, held.cursor);
    expect(events.map((event) => JSON.parse(event.json).n)[0]).toBe("older");
    expect(events).toHaveLength(6);
    expect(timeOrdered(events)).toBe(true);
    await bus.shutdown();
  });
});
