import { TestProducer } from "@netmesh/adapter-testkit";
import { createBus } from "@netmesh/core";
import { silentLogger } from "@netmesh/core/adapter";
import { afterAll, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { readAll } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

// One bad event never takes its neighbours: it is refused alone, at ingest when the bus can tell, by
// the adapter otherwise, and everything around it is stored in order.
const servers: OwnRedis[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

describe("per-event refusal", () => {
  it("learns the server's proto-max-bulk-len at init; the bus refuses a larger event at ingest and stores all the rest", async () => {
    const server = await startOwnRedis(["--proto-max-bulk-len", "1mb"]);
    servers.push(server);
    const adapter = new RedisAdapter({ url: server.url(), prefix: "bulk" });
    const bus = await createBus({ adapter, shards: 4 });
    try {
      expect(bus.capabilities.maxEventBytes).toBe(1_048_576);
      const statuses: string[] = [];
      for (let i = 0; i < 10_000; i++) {
        const event = i === 5_000 ? { i, blob: "x".repeat(2 * 1_048_576) } : { i, text: "token" };
        statuses.push(bus.ingest(event, { key: `k${i % 97}` }));
      }
      await bus.flush();
      expect(statuses[5_000]).toBe("tooLarge");
      expect(statuses.filter((status) => status === "accepted")).toHaveLength(9_999);
      const stats = bus.stats();
      expect(stats).toMatchObject({ ingested: 9_999, dispatched: 9_999, dropped: 0, rejected: 1 });
      expect(stats.rejectedBy.tooLarge).toBe(1);
      let stored = 0;
      for (let shard = 0; shard < 4; shard++) stored += (await readAll(adapter, shard)).length;
      expect(stored).toBe(9_999);
    } finally {
      await bus.shutdown();
    }
  });

  it("refuses an oversize event and a lone surrogate alone, storing their neighbours in order", async () => {
    const server = await startOwnRedis();
    servers.push(server);
    const adapter = new RedisAdapter({ url: server.url(), prefix: "alone", maxEventBytes: 64 });
    await adapter.init({ logger: silentLogger });
    try {
      const texts = ['{"n":1}', `"${"x".repeat(100)}"`, '{"n":2}', '{"bad":"\ud800"}', '{"n":3}'];
      const batch = new TestProducer().batch(2, texts);
      const result = await adapter.onBatch(batch, new AbortController().signal);
      expect(result).toEqual({
        rejected: [
          { index: 1, reason: "tooLarge", message: "over 64 bytes" },
          { index: 3, reason: "invalidText", message: "lone UTF-16 surrogate" },
        ],
      });
      // A retry of the same batch (its reply lost) stores nothing again.
      await adapter.onBatch(batch, new AbortController().signal);
      const events = await readAll(adapter, 2);
      expect(events.map((event) => event.json)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
      expect(events.map((event) => event.messageId)).toEqual([0, 2, 4].map((i) => batch.messageId(i)));
    } finally {
      await adapter.shutdown();
    }
  });
});
