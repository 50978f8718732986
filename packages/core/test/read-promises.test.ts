/**
 * The read-side promises of the README (poll, read-ahead, subscribe, order: "insertion"), each checked
 * where an earlier version broke it.
 */
import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { PollRequest } from "../src/consumer/poll.js";
import { createReader } from "../src/consumer/reader.js";
import type { SubscribeOptions } from "../src/consumer/subscribe.js";
import { InvalidPollRequestError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";

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
