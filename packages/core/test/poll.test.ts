import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { createBus, type EventBus } from "../src/bus.js";
import type { ShardPage, StoredEvent } from "../src/contract/adapter.js";
import type { PollRequest } from "../src/consumer/poll.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { ScriptedAdapter } from "./helpers.js";

interface Payload {
  key: number;
  n: number;
  kind: string;
}

/** Pages through everything; returns the events in delivery order and the number of polls. */
async function pageAll(bus: EventBus, request: Omit<PollRequest, "cursor">) {
  const events: StoredEvent[] = [];
  let cursor: string | undefined;
  let polls = 0;
  for (;;) {
    const result = await bus.poll({ ...request, ...(cursor !== undefined && { cursor }) });
    polls++;
    expect(result.events.length).toBeLessThanOrEqual(request.limit);
    expect(result.failedShards).toEqual([]);
    events.push(...result.events);
    cursor = result.cursor;
    if (!result.hasMore) return { events, polls, cursor };
    if (polls > 200_000) throw new Error("paging does not terminate");
  }
}

function expectExactlyOnceInShardOrder(events: readonly StoredEvent[], expected: number) {
  expect(new Set(events.map((e) => e.messageId)).size).toBe(expected);
  expect(events).toHaveLength(expected);
  const lastPerKey = new Map<number, number>();
  for (const event of events) {
    const { key, n } = JSON.parse(event.json) as Payload;
    expect(n).toBeGreaterThan(lastPerKey.get(key) ?? -1);
    lastPerKey.set(key, n);
  }
}

describe("poll across shards (100k events, 8 shards)", () => {
  let bus: EventBus;
  const TOTAL = 100_000;
  const kinds = ["token", "tool_call", "guardrail", "metrics"];

  beforeAll(async () => {
    bus = await createBus({ adapter: new MemoryAdapter(), shards: 8 });
    const keys = Array.from({ length: 64 }, (_, k) => ({ key: `k${k}` }));
    const next = new Array<number>(64).fill(0);
    for (let i = 0; i < TOTAL; i++) {
      const key = (i * 31) % 64;
      bus.ingest({ key, n: next[key]!++, kind: kinds[i % 4] }, keys[key]);
      if (i % 5_000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await bus.flush();
    expect(bus.stats().dispatched).toBe(TOTAL);
  });

  it.each([1, 7, 100])(
    "pages with limit %i: every event once, per-shard (and per-key) order kept",
    async (limit) => {
      const { events } = await pageAll(bus, { limit });
      expectExactlyOnceInShardOrder(events, TOTAL);
    },
    120_000,
  );

  it("with a filter: exactly the matching events", async () => {
    const { events } = await pageAll(bus, { limit: 100, filter: { path: "kind", value: "guardrail" } });
    expect(events).toHaveLength(TOTAL / 4);
    expect(events.every((e) => (JSON.parse(e.json) as Payload).kind === "guardrail")).toBe(true);
    expectExactlyOnceInShardOrder(events, TOTAL / 4);
  });

  it("with a rare match: advances past filtered-out events instead of re-reading them", async () => {
    const { events, polls } = await pageAll(bus, {
      limit: 10,
      filter: {
        $and: [
          { path: "key", value: 3 },
          { path: "n", value: 7 },
        ],
      },
    });
    expect(events.map((e) => JSON.parse(e.json))).toEqual([{ key: 3, n: 7, kind: expect.any(String) }]);
    // Each poll examines ≥ 256 entries per shard, so the largest shard bounds the number of polls.
    const largest = Math.max(...bus.stats().shards.map((shard) => shard.dispatched));
    expect(polls).toBeLessThanOrEqual(Math.ceil(largest / 256) + 1);
  });

  it("with insertion ordering: globally non-decreasing timestamps across pages", async () => {
    const { events } = await pageAll(bus, { limit: 100, order: "insertion" });
    expectExactlyOnceInShardOrder(events, TOTAL);
    for (let i = 1; i < events.length; i++) {
      const [a, b] = [events[i - 1]!, events[i]!];
      expect(a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.shard <= b.shard)).toBe(true);
    }
  });

  it("paging with random limits never loses or repeats an event (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3_000 }), { minLength: 1, maxLength: 8 }),
        async (limits) => {
          const seen = new Set<string>();
          let cursor: string | undefined;
          for (let i = 0; ; i++) {
            const result = await bus.poll({
              limit: limits[i % limits.length]!,
              ...(cursor !== undefined && { cursor }),
            });
            for (const event of result.events) {
              expect(seen.has(event.messageId!)).toBe(false);
              seen.add(event.messageId!);
            }
            cursor = result.cursor;
            if (!result.hasMore) break;
          }
          expect(seen.size).toBe(TOTAL);
        },
      ),
      { numRuns: 8 },
    );
  }, 120_000);

  it("serves every shard even when the limit is below the shard count", async () => {
    const result = await Promise.all(Array.from({ length: 16 }, () => bus.poll({ limit: 1 })));
    expect(new Set(result.map((r) => r.events[0]!.shard)).size).toBe(8);
  });

  it("reads only the requested shards and echoes the cursor when nothing moved", async () => {
    const result = await bus.poll({ limit: 50, shards: [6, 2, 6] });
    expect(new Set(result.events.map((e) => e.shard))).toEqual(new Set([2, 6]));
    const end = await pageAll(bus, { limit: 10_000 });
    const again = await bus.poll({ limit: 10, cursor: end.cursor });
    expect(again).toMatchObject({ events: [], hasMore: false, cursor: end.cursor });
  });

  it("reports a per-shard fetch capped at 10,000", async () => {
    expect((await bus.poll({ limit: 100_000 })).truncatedAtShardCap).toBe(true);
    expect((await bus.poll({ limit: 100 })).truncatedAtShardCap).toBe(false);
  });
});

describe("insertion ordering with skewed shards", () => {
  it("does not return late events of sparse shards before earlier unread events of a dense shard", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 4 });
    const keyOf = new Map<number, string>();
    for (let k = 0; keyOf.size < 4; k++)
      if (!keyOf.has(bus.shardFor(`k${k}`))) keyOf.set(bus.shardFor(`k${k}`), `k${k}`);
    for (let i = 0; i < 1_000; i++) bus.ingest({ shard: 0, i }, { key: keyOf.get(0)! });
    await new Promise((resolve) => setTimeout(resolve, 5)); // later wall-clock time for the sparse shards
    for (const shard of [1, 2, 3])
      for (let i = 0; i < 100; i++) bus.ingest({ shard, i }, { key: keyOf.get(shard)! });
    await bus.flush();
    const { events } = await pageAll(bus, { limit: 100, order: "insertion" });
    expect(events).toHaveLength(1_300);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.timestamp).toBeGreaterThanOrEqual(events[i - 1]!.timestamp);
    await bus.shutdown();
  });
});

describe("poll failure modes", () => {
  it("keeps going when one shard fails, and leaves that shard's position alone", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter, shards: 4 });
    for (let i = 0; i < 400; i++) bus.ingest({ i });
    await bus.flush();
    const realPoll = adapter.pollShard.bind(adapter);
    adapter.pollShard = (shard, afterId, limit) =>
      shard === 2 ? Promise.reject(new Error("shard 2 down")) : realPoll(shard, afterId, limit);
    const result = await bus.poll({ limit: 1000 });
    expect(result.failedShards).toEqual([2]);
    expect(result.events.some((e) => e.shard === 2)).toBe(false);
    expect(result.events.length).toBe(400 - bus.stats().shards[2]!.dispatched);
    adapter.pollShard = realPoll;
    const rest = await bus.poll({ limit: 1000, cursor: result.cursor });
    expect(rest.events.every((e) => e.shard === 2)).toBe(true);
    expect(rest.events.length).toBe(bus.stats().shards[2]!.dispatched);
    await bus.shutdown();
  });

  it("reports a shard that claims more but makes no progress, and never moves a position backwards", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter, shards: 1 });
    for (let i = 0; i < 5; i++) bus.ingest({ i });
    await bus.flush();
    const first = await bus.poll({ limit: 5 });
    adapter.pollShard = async (): Promise<ShardPage> => ({ events: [], nextId: "1", hasMore: true });
    const stalled = await bus.poll({ limit: 5, cursor: first.cursor });
    expect(stalled).toMatchObject({ events: [], hasMore: false, stalledShards: [0], cursor: first.cursor });
    await bus.shutdown();
  });

  it("refuses bad requests with typed errors", async () => {
    const bus = await createBus();
    await expect(bus.poll({ limit: 0 })).rejects.toMatchObject({
      code: "INVALID_POLL_REQUEST",
      field: "limit",
    });
    await expect(bus.poll({ limit: 1, order: "random" as "none" })).rejects.toMatchObject({ field: "order" });
    await expect(bus.poll({ limit: 1, shards: [-1] })).rejects.toMatchObject({ field: "shards" });
    await expect(bus.poll({ limit: 1, cursor: "%%%" })).rejects.toMatchObject({ code: "INVALID_CURSOR" });
    await expect(bus.poll({ limit: 1, filter: { $and: 1 } as never })).rejects.toMatchObject({
      code: "INVALID_FILTER",
    });
    await bus.shutdown();
  });
});
