/**
 * The read-side promises of the README (poll, read-ahead, subscribe, order: "insertion"), each checked
 * where an earlier version broke it.
 */
import { describe, expect, it } from "vitest";
import { type EventBus, createBus } from "../src/bus.js";
import type { ShardPage } from "../src/contract/adapter.js";
import type { PollRequest } from "../src/consumer/poll.js";
import { createReader } from "../src/consumer/reader.js";
import type { SubscribeOptions } from "../src/consumer/subscribe.js";
import { BusClosedError, InvalidPollRequestError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";

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
    /** Reads wait for `gate` before they reach the store. */
    class GatedAdapter extends MemoryAdapter {
      gate: Promise<void> = Promise.resolve();
      override async pollShard(
        shard: number,
        afterId: string | undefined,
        limit: number,
      ): Promise<ShardPage> {
        await this.gate;
        return super.pollShard(shard, afterId, limit);
      }
    }
    const adapter = new GatedAdapter();
    const bus = await createBus({ adapter, shards: 2 });
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    await bus.flush();
    let open!: () => void;
    adapter.gate = new Promise((resolve) => {
      open = resolve;
    });
    const polling = bus.poll({ limit: 10 });
    polling.catch(() => {});
    await bus.shutdown();
    open();
    await expect(polling).rejects.toBeInstanceOf(BusClosedError);
    await expect(polling).rejects.toMatchObject({ code: "BUS_CLOSED" });
  });
});
