import { TestProducer } from "@netmesh/adapter-testkit";
import { silentLogger } from "@netmesh/core/adapter";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { RedisAdapter, dedupKey, streamKey } from "../src/index.js";
import { deleteKeys, readAll, sleep, uniquePrefix } from "./support/helpers.js";

const url = inject("redisUrl");
const live = new AbortController().signal;
let redis: Redis;
const prefixes: string[] = [];
const adapters: RedisAdapter[] = [];

async function ready(settings: { maxLength?: number; maxAgeMs?: number }) {
  const prefix = uniquePrefix("trim");
  prefixes.push(prefix);
  const adapter = new RedisAdapter({ url, prefix, ...settings });
  adapters.push(adapter);
  await adapter.init({ logger: silentLogger });
  return { adapter, prefix };
}

const texts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `{"${tag}":${i}}`);

beforeAll(() => {
  redis = new Redis(url);
});
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.shutdown()));
  for (const prefix of prefixes.splice(0)) await deleteKeys(redis, prefix);
});
afterAll(() => redis.disconnect());

describe("approximate trimming", () => {
  it("maxLength keeps about that many entries (whole radix nodes are dropped), always the newest", async () => {
    const { adapter, prefix } = await ready({ maxLength: 1_000 });
    const producer = new TestProducer();
    const batches = Array.from({ length: 10 }, (_, b) => producer.batch(0, texts(500, `b${b}`)));
    for (const batch of batches) await adapter.onBatch(batch, live);
    const length = await redis.xlen(streamKey(prefix, 0));
    expect(length).toBeGreaterThanOrEqual(1_000);
    expect(length).toBeLessThanOrEqual(1_100); // at most one node (100 entries by default) over
    const stored = await readAll(adapter, 0);
    expect(stored.map((event) => event.json)).toEqual(
      batches.flatMap((batch) => batch.events).slice(-length),
    );
    // Trimming never touches the dedup mark: a retry of a trimmed batch still adds nothing.
    await adapter.onBatch(batches[0]!, live);
    expect(await redis.xlen(streamKey(prefix, 0))).toBe(length);
    expect(await redis.get(dedupKey(prefix, 0, producer.producer))).toBe("5000");
  });

  it("maxAgeMs drops entries older than the window (by stream id time), keeps the recent ones", async () => {
    const { adapter } = await ready({ maxAgeMs: 300 });
    const producer = new TestProducer();
    const old = producer.batch(1, texts(1_000, "old"));
    await adapter.onBatch(old, live);
    await sleep(450);
    const recent = producer.batch(1, texts(5, "new"));
    await adapter.onBatch(recent, live);
    const stored = await readAll(adapter, 1);
    // Approximate: Redis drops whole nodes only, so a few old entries may remain in a partly old node.
    expect(stored.length).toBeLessThan(200);
    expect(stored.slice(-5).map((event) => event.json)).toEqual(recent.events);
  });
});
