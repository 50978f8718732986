import { RedisAdapter } from "@netmesh/adapter-redis";
import { createBus, type EventBus } from "@netmesh/core";
import { Registry } from "prom-client";
import { afterAll, describe, expect, inject, it } from "vitest";
import { collectBusMetrics } from "../src/index.js";
import { samplesOf, sampleValue } from "./support/prom-text.js";
import { countKeys, deleteKeys, uniquePrefix } from "./support/redis-keys.js";
import { expectCountersEqualStats, expectFamilies, histogram, scrape } from "./support/scrape-checks.js";

const url = inject("redisUrl");
const prefix = uniquePrefix("scrape");
let bus: EventBus | undefined;

afterAll(async () => {
  await bus?.shutdown();
  await deleteKeys(url, prefix);
  expect(await countKeys(url, prefix)).toBe(0);
});

describe("a live Redis bus scraped through prom-client's text output", () => {
  it("exposes counters equal to stats(), the redis adapter's timings and the stored batches", async () => {
    bus = await createBus({ adapter: new RedisAdapter({ url, prefix }), shards: 3 });
    const registry = new Registry();
    const metrics = collectBusMetrics(bus, { registry, maxShardLabels: 2 });
    let bytes = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 400; i++) {
        const raw = bus.prepare({ round, i, text: "naïve café" }, { key: `user-${i % 13}` });
        expect(bus.ingestRaw(raw)).toBe("accepted");
        bytes += Buffer.byteLength(raw.json, "utf8");
      }
      await bus.flush();
    }

    const text = await registry.metrics();
    if (process.env.PRINT_SCRAPE === "1") console.log(text);
    const families = await scrape(registry);
    const stats = bus.stats();
    expect(stats.dispatched).toBe(2_000);
    expectFamilies(families);
    expectCountersEqualStats(families, stats);

    const size = histogram(families, "netmesh_batch_size_events");
    expect(size).toEqual({ count: stats.batches, sum: 2_000 });
    expect(histogram(families, "netmesh_batch_bytes")).toEqual({ count: stats.batches, sum: bytes });
    const adapter = histogram(families, "netmesh_adapter_duration_seconds", { adapter: "redis" });
    expect(adapter.count).toBe(stats.batches);
    // Real round trips to Redis: some time was spent, and less than the whole test.
    expect(adapter.sum).toBeGreaterThan(0);
    expect(adapter.sum).toBeLessThan(30);
    expect(histogram(families, "netmesh_queue_delay_seconds").count).toBe(stats.batches);
    expect(samplesOf(families, "netmesh_events_pending").map((s) => s.labels.shard)).toEqual([
      "0",
      "1",
      "__overflow__",
    ]);
    expect(sampleValue(families, "netmesh_shards", { state: "active" })).toBe(3);

    // What the collector exposes is what Redis holds: one stream entry per dispatched event.
    const adapterInstance = bus.adapter as RedisAdapter;
    let stored = 0;
    for (const shard of [0, 1, 2]) stored += await adapterInstance.client.xlen(`{${prefix}:shard:${shard}}`);
    expect(stored).toBe(sampleValue(families, "netmesh_events_dispatched_total"));
    metrics.stop();
  });
});
