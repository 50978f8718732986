import { createBus, type EventBus, type IngestStatus } from "@netmesh/core";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { collectBusMetrics } from "../src/index.js";
import { samplesOf, sampleValue } from "./support/prom-text.js";
import { expectCountersEqualStats, expectFamilies, histogram, scrape } from "./support/scrape-checks.js";

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.shutdown()));
});

async function bus(options: Parameters<typeof createBus>[0]): Promise<EventBus> {
  const created = await createBus(options);
  buses.push(created);
  return created;
}

describe("a live memory bus scraped through prom-client's text output", () => {
  it("exposes every family with its TYPE, counters equal to stats() and histograms counting each batch", async () => {
    // A small ring and drop-newest: a synchronous burst is partly refused ("full").
    const live = await bus({ shards: 4, ringCapacity: 64, backpressure: "drop-newest" });
    const registry = new Registry();
    // The memory adapter takes text: batch_bytes costs a count per event, so it is asked for here.
    const metrics = collectBusMetrics(live, { registry, batchBytes: true });
    let acceptedBytes = 0;
    const statuses: IngestStatus[] = [];
    for (let i = 0; i < 1_000; i++) {
      const event = { type: "token", seq: i, text: `é${"x".repeat(i % 50)}` };
      const status = live.ingest(event, { key: `session-${i % 7}` });
      statuses.push(status);
      if (status === "accepted") acceptedBytes += Buffer.byteLength(JSON.stringify(event), "utf8");
    }
    await live.flush();
    for (let i = 0; i < 300; i++) {
      const raw = live.prepare({ seq: i }, { key: "k" });
      if (live.ingestRaw(raw) === "accepted") acceptedBytes += Buffer.byteLength(raw.json, "utf8");
      if (i % 50 === 0) await live.flush(); // several small batches
    }
    await live.flush();

    const families = await scrape(registry);
    const stats = live.stats();
    expectFamilies(families);
    expectCountersEqualStats(families, stats);
    expect(stats.rejectedBy.full).toBeGreaterThan(0); // the burst overflowed: a non-zero reason is checked
    expect(sampleValue(families, "netmesh_events_rejected_total", { reason: "full" })).toBe(
      statuses.filter((status) => status === "full").length,
    );
    expect(stats.pending).toBe(0);

    const size = histogram(families, "netmesh_batch_size_events");
    expect(size.count).toBe(stats.batches);
    expect(size.sum).toBe(stats.dispatched);
    const bytes = histogram(families, "netmesh_batch_bytes");
    expect(bytes.count).toBe(stats.batches);
    expect(bytes.sum).toBe(acceptedBytes);
    expect(histogram(families, "netmesh_adapter_duration_seconds", { adapter: "memory" }).count).toBe(
      stats.batches,
    );
    expect(histogram(families, "netmesh_queue_delay_seconds").count).toBe(stats.batches);

    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dropped" })).toBe(0);
    expect(samplesOf(families, "netmesh_retries_total").every((sample) => sample.value === 0)).toBe(true);
    expect(samplesOf(families, "netmesh_ring_fill_ratio").map((s) => s.labels.shard)).toEqual([
      "0",
      "1",
      "2",
      "3",
    ]);
    expect(samplesOf(families, "netmesh_events_pending").every((sample) => sample.value === 0)).toBe(true);
    expect(sampleValue(families, "netmesh_shards", { state: "active" })).toBe(4);
    expect(sampleValue(families, "netmesh_shards", { state: "draining" })).toBe(0);
    metrics.stop();
  });

  it("bounds the shard label: 100 shards with maxShardLabels 8 give 8 shard series plus __overflow__", async () => {
    // Batches never fill nor time out here, so every event stays pending and the gauges are non-zero.
    const live = await bus({
      shards: 100,
      ringCapacity: 128,
      batch: { minSize: 128, maxSize: 128, maxDelayMs: 600_000, adaptive: false },
    });
    const registry = new Registry();
    const metrics = collectBusMetrics(live, { registry, maxShardLabels: 8 });
    for (let i = 0; i < 2_000; i++) live.ingest({ i }, { key: `key-${i}` });

    const families = await scrape(registry);
    const stats = live.stats();
    expect(stats.pending).toBe(2_000);
    for (const family of ["netmesh_ring_fill_ratio", "netmesh_events_pending"]) {
      const shards = samplesOf(families, family).map((sample) => sample.labels.shard);
      expect(shards).toEqual(["0", "1", "2", "3", "4", "5", "6", "7", "__overflow__"]);
    }
    const rest = stats.shards.slice(8);
    for (const shard of stats.shards.slice(0, 8)) {
      expect(sampleValue(families, "netmesh_events_pending", { shard: String(shard.id) })).toBe(shard.queued);
      expect(sampleValue(families, "netmesh_ring_fill_ratio", { shard: String(shard.id) })).toBe(shard.fill);
    }
    const overflowQueued = rest.reduce((sum, shard) => sum + shard.queued, 0);
    expect(sampleValue(families, "netmesh_events_pending", { shard: "__overflow__" })).toBe(overflowQueued);
    expect(sampleValue(families, "netmesh_ring_fill_ratio", { shard: "__overflow__" })).toBeCloseTo(
      overflowQueued / (92 * 128),
      12,
    );
    // Every pending event is in exactly one series.
    const pendingSum = samplesOf(families, "netmesh_events_pending").reduce((sum, s) => sum + s.value, 0);
    expect(pendingSum).toBe(stats.pending);
    expect(sampleValue(families, "netmesh_shards", { state: "active" })).toBe(100);
    expectCountersEqualStats(families, stats);
    metrics.stop();
  });

  it('leaves batch_bytes empty by default ("free") for an adapter that takes text, and never with true', async () => {
    const live = await bus({ shards: 2 });
    const free = new Registry();
    const never = new Registry();
    collectBusMetrics(live, { registry: free });
    collectBusMetrics(live, { registry: never, batchBytes: false });
    for (let i = 0; i < 50; i++) live.ingest({ i });
    await live.flush();
    const batches = live.stats().batches;
    expect(batches).toBeGreaterThan(0);
    for (const registry of [free, never]) {
      const families = await scrape(registry);
      expect(histogram(families, "netmesh_batch_bytes")).toMatchObject({ count: 0, sum: 0 });
      expect(histogram(families, "netmesh_batch_size_events").count).toBe(batches);
    }
  });

  it("counts evictions and closed-bus refusals under their reasons, consistently within one scrape", async () => {
    const live = await bus({
      shards: 1,
      ringCapacity: 16,
      backpressure: "drop-oldest",
      batch: { minSize: 16, maxSize: 16, maxDelayMs: 600_000, adaptive: false },
    });
    const registry = new Registry();
    collectBusMetrics(live, { registry });
    for (let i = 0; i < 100; i++) live.ingest({ i });
    const during = await scrape(registry);
    // One stats() snapshot per scrape: ingested = dispatched + dropped + pending holds between families.
    const dropped = samplesOf(during, "netmesh_events_dropped_total").reduce((sum, s) => sum + s.value, 0);
    expect(sampleValue(during, "netmesh_events_ingested_total")).toBe(
      sampleValue(during, "netmesh_events_dispatched_total") +
        dropped +
        sampleValue(during, "netmesh_events_pending", { shard: "0" }),
    );
    expect(sampleValue(during, "netmesh_events_dropped_total", { reason: "evicted" })).toBe(84);
    expect(sampleValue(during, "netmesh_ring_fill_ratio", { shard: "0" })).toBe(1);

    await live.shutdown();
    expect(live.ingest({ late: true })).toBe("closed");
    const after = await scrape(registry);
    expectCountersEqualStats(after, live.stats());
    expect(sampleValue(after, "netmesh_events_rejected_total", { reason: "closed" })).toBe(1);
    expect(sampleValue(after, "netmesh_events_dispatched_total")).toBe(16);
    expect(histogram(after, "netmesh_batch_size_events").sum).toBe(16);
  });
});
