import { createBus, createReader } from "@netmesh/core";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, uniquePrefix } from "./support/helpers.js";

const url = inject("redisUrl");
const prefix = uniquePrefix("reader");
afterAll(async () => {
  const redis = new Redis(url);
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

// A reader started after a producer scaled from 4 to 8 shards discovers all 8 streams (SCAN) and reads
// every event, also those of a shard the producer has since scaled away.
describe("createReader on Redis", () => {
  it("discovers the shards a producer created and reads every event once", async () => {
    const bus = await createBus({
      adapter: new RedisAdapter({ url, prefix }),
      shards: 4,
      scaling: { autoStart: false, maxShards: 8, minShards: 1 },
    });
    for (let i = 0; i < 4_000; i++) bus.ingest({ i }, { key: `k${i}` });
    bus.manualScaleUp(4);
    for (let i = 4_000; i < 8_000; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.flush();
    await bus.manualScaleDown(2);
    await bus.shutdown();

    const reader = await createReader({ adapter: new RedisAdapter({ url, prefix }) });
    expect(reader.shardIds()).toHaveLength(8);
    const seen = new Set<number>();
    let cursor: string | undefined;
    for (let polls = 0; polls < 1_000; polls++) {
      const page = await reader.poll({ limit: 1_000, ...(cursor && { cursor }) });
      for (const event of page.events) seen.add((JSON.parse(event.json) as { i: number }).i);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    expect(seen.size).toBe(8_000);
    await reader.close();
  });
});
