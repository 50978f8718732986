import { channel } from "node:diagnostics_channel";
import { createBus, DIAGNOSTICS_CHANNELS, type EventBus } from "@netmesh/core";
import { Counter, type OpenMetricsContentType, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { routes } from "../src/channel-hub.js";
import { collectBusMetrics, MetricNameConflictError } from "../src/index.js";
import { parsePrometheusText, samplesOf, sampleValue } from "./support/prom-text.js";
import { EXPECTED_TYPES, expectFamilies, histogram, scrape } from "./support/scrape-checks.js";

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.shutdown()));
});

async function bus(): Promise<EventBus> {
  const created = await createBus({ shards: 2 });
  buses.push(created);
  return created;
}

const LISTENED = [
  DIAGNOSTICS_CHANNELS.batchDispatched,
  DIAGNOSTICS_CHANNELS.batchRetried,
  DIAGNOSTICS_CHANNELS.eventsDropped,
];

describe("collector lifecycle", () => {
  it("stop() takes every metric off the registry, leaves others alone and unsubscribes", async () => {
    const live = await bus();
    const registry = new Registry();
    const mine = new Counter({ name: "app_requests_total", help: "unrelated", registers: [registry] });
    const metrics = collectBusMetrics(live, { registry });
    expect(metrics.names).toEqual(Object.keys(EXPECTED_TYPES));
    for (const name of LISTENED) expect(channel(name).hasSubscribers, name).toBe(true);

    metrics.stop();
    metrics.stop(); // idempotent
    expect(registry.getMetricsAsArray()).toEqual([mine]);
    expect(await registry.metrics()).not.toContain("netmesh_");
    for (const name of LISTENED) expect(channel(name).hasSubscribers, name).toBe(false);

    // The names are free again: a new collector registers without conflict.
    collectBusMetrics(live, { registry }).stop();
  });

  it("shares one subscription per channel between collectors, and counts each bus's own messages only", async () => {
    const [a, b] = [await bus(), await bus()];
    const [registryA, registryB, registryA2] = [new Registry(), new Registry(), new Registry()];
    const collectors = [
      collectBusMetrics(a, { registry: registryA }),
      collectBusMetrics(b, { registry: registryB }),
      collectBusMetrics(a, { registry: registryA2 }),
    ];
    for (const route of Object.values(routes)) {
      expect(route.isSubscribed).toBe(true);
      expect(route.listenerCount).toBe(3);
    }
    for (let i = 0; i < 30; i++) a.ingest({ i });
    await a.flush();
    for (let i = 0; i < 5; i++) b.ingest({ i });
    await b.flush();

    const countA = histogram(await scrape(registryA), "netmesh_batch_size_events");
    const countB = histogram(await scrape(registryB), "netmesh_batch_size_events");
    expect(countA).toEqual({ count: a.stats().batches, sum: 30 });
    expect(countB).toEqual({ count: b.stats().batches, sum: 5 });
    expect(histogram(await scrape(registryA2), "netmesh_batch_size_events")).toEqual(countA);

    collectors[0]!.stop();
    expect(routes.batchDispatched.listenerCount).toBe(2);
    for (let i = 0; i < 5; i++) a.ingest({ i });
    await a.flush();
    // The other collector of bus a still hears it.
    expect(histogram(await scrape(registryA2), "netmesh_batch_size_events").sum).toBe(35);
    collectors[1]!.stop();
    collectors[2]!.stop();
    for (const route of Object.values(routes)) expect(route.isSubscribed).toBe(false);
  });

  it("refuses a name already registered without registering anything, and accepts another prefix", async () => {
    const [a, b] = [await bus(), await bus()];
    const registry = new Registry();
    const first = collectBusMetrics(a, { registry });
    expect(() => collectBusMetrics(b, { registry })).toThrow(MetricNameConflictError);
    expect(registry.getMetricsAsArray()).toHaveLength(14);
    expect(routes.batchDispatched.listenerCount).toBe(1);

    const second = collectBusMetrics(b, { registry, prefix: "bus_b_" });
    b.ingest({ x: 1 });
    await b.flush();
    const families = await scrape(registry);
    expectFamilies(families, "bus_b_");
    expect(sampleValue(families, "bus_b_events_ingested_total")).toBe(1);
    expect(sampleValue(families, "netmesh_events_ingested_total")).toBe(0);
    first.stop();
    second.stop();
  });

  it("bounds the retry reason label, and a malformed message never throws into the publisher", async () => {
    const live = await bus();
    const registry = new Registry();
    const metrics = collectBusMetrics(live, { registry });
    const retried = channel(DIAGNOSTICS_CHANNELS.batchRetried);
    for (const reason of ["transient", "someday-new", "toString", "__proto__"]) {
      retried.publish({
        producer: live.producer,
        adapter: "memory",
        shard: 0,
        events: 1,
        attempt: 1,
        reason,
      });
    }
    // A NaN duration makes prom-client's observe throw; diagnostics_channel would rethrow it on the next
    // tick and crash the process, so the route swallows it.
    channel(DIAGNOSTICS_CHANNELS.batchDispatched).publish({
      producer: live.producer,
      adapter: "memory",
      shard: 0,
      events: 1,
      refused: 0,
      bytes: 10,
      attempt: 1,
      adapterMs: Number.NaN,
      queueDelayMs: 0,
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const families = await scrape(registry);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "transient" })).toBe(1);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "other" })).toBe(3);
    expect(samplesOf(families, "netmesh_retries_total").map((sample) => sample.labels.reason)).toEqual([
      "transient",
      "connection",
      "backpressure",
      "timeout",
      "other",
    ]);
    metrics.stop();
  });

  it("validates its options", async () => {
    const live = await bus();
    const registry = new Registry();
    expect(() => collectBusMetrics(live, { registry, prefix: "bad-prefix" })).toThrow(TypeError);
    expect(() => collectBusMetrics(live, { registry, maxShardLabels: -1 })).toThrow(RangeError);
    expect(() => collectBusMetrics(live, { registry, maxShardLabels: 1.5 })).toThrow(RangeError);
    expect(() => collectBusMetrics(live, { registry, buckets: { batchBytes: [10, 5] } })).toThrow(RangeError);
    expect(registry.getMetricsAsArray()).toHaveLength(0);

    const metrics = collectBusMetrics(live, { registry, buckets: { batchSize: [2, 4] }, prefix: "" });
    const families = await scrape(registry);
    const les = samplesOf(families, "batch_size_events", {}, "batch_size_events_bucket").map(
      (s) => s.labels.le,
    );
    expect(les).toEqual(["2", "4", "+Inf"]);
    metrics.stop();
  });

  it("works on an OpenMetrics registry (counter families without _total, samples with it)", async () => {
    const live = await bus();
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const metrics = collectBusMetrics(live, { registry });
    live.ingest({ a: 1 });
    await live.flush();
    const text = await registry.metrics();
    expect(text.endsWith("# EOF\n")).toBe(true);
    expect(text).toContain("# TYPE netmesh_events_ingested counter");
    const families = parsePrometheusText(text);
    expect(sampleValue(families, "netmesh_events_ingested", {}, "netmesh_events_ingested_total")).toBe(1);
    metrics.stop();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });
});
