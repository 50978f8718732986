import {
  BackendBackpressureError,
  ConnectionError,
  createBus,
  type EventBus,
  FatalError,
  TransientError,
} from "@netmesh/core";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { collectBusMetrics } from "../src/index.js";
import { sampleValue } from "./support/prom-text.js";
import { expectCountersEqualStats, histogram, scrape } from "./support/scrape-checks.js";
import { ScriptedAdapter, type Step } from "./support/scripted-adapter.js";

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.shutdown()));
});

/** A one-shard bus over a scripted adapter, with fast retries, and its collector. */
async function scripted(
  steps: readonly Step[],
  options: { retries?: number; adapterTimeoutMs?: number } = {},
) {
  const adapter = new ScriptedAdapter(steps);
  const bus = await createBus({
    adapter,
    shards: 1,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 2,
    ...options,
  });
  buses.push(bus);
  const registry = new Registry();
  collectBusMetrics(bus, { registry });
  return { bus, adapter, registry };
}

describe("retries and batch outcomes from the diagnostics channels", () => {
  it("counts each retried attempt under its reason, and the batch once as dispatched", async () => {
    const { bus, adapter, registry } = await scripted(
      [new TransientError("blip"), new ConnectionError("reset"), new BackendBackpressureError(), "hang"],
      { retries: 5, adapterTimeoutMs: 50 },
    );
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    await bus.flush();

    const families = await scrape(registry);
    expect(adapter.calls).toBe(5);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "transient" })).toBe(1);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "connection" })).toBe(1);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "backpressure" })).toBe(1);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "timeout" })).toBe(1);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "other" })).toBe(0);
    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dispatched" })).toBe(1);
    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dropped" })).toBe(0);
    // Only the attempt that stored the batch is timed.
    expect(histogram(families, "netmesh_adapter_duration_seconds", { adapter: "memory" }).count).toBe(1);
    expect(histogram(families, "netmesh_batch_size_events")).toEqual({ count: 1, sum: 10 });
    expectCountersEqualStats(families, bus.stats());
  });

  it("counts a batch the adapter refuses as one dropped batch, its events under adapterRejected", async () => {
    const { bus, registry } = await scripted([new FatalError("no such stream")]);
    for (let i = 0; i < 7; i++) bus.ingest({ i });
    await bus.flush();
    for (let i = 0; i < 3; i++) bus.ingest({ i });
    await bus.flush();

    const families = await scrape(registry);
    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dropped" })).toBe(1);
    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dispatched" })).toBe(1);
    expect(sampleValue(families, "netmesh_events_dropped_total", { reason: "adapterRejected" })).toBe(7);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "transient" })).toBe(0);
    expect(histogram(families, "netmesh_batch_size_events")).toEqual({ count: 1, sum: 3 });
    expectCountersEqualStats(families, bus.stats());
  });

  it("counts events refused alone in a stored batch as dropped events, not as a dropped batch", async () => {
    const { bus, registry } = await scripted([{ refuse: [1, 3] }]);
    for (let i = 0; i < 6; i++) bus.ingest({ i });
    await bus.flush();

    const families = await scrape(registry);
    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dispatched" })).toBe(1);
    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dropped" })).toBe(0);
    expect(sampleValue(families, "netmesh_events_dropped_total", { reason: "refused" })).toBe(2);
    expect(sampleValue(families, "netmesh_events_dispatched_total")).toBe(4);
    // The batch's size is what was sent, refused events included.
    expect(histogram(families, "netmesh_batch_size_events")).toEqual({ count: 1, sum: 6 });
    expectCountersEqualStats(families, bus.stats());
  });

  it("counts a batch whose retries run out as dropped, uncertain when an attempt may have stored it", async () => {
    const { bus, registry } = await scripted([new TransientError("a"), new TransientError("b")], {
      retries: 1,
    });
    for (let i = 0; i < 5; i++) bus.ingest({ i });
    await bus.flush();

    const families = await scrape(registry);
    expect(sampleValue(families, "netmesh_retries_total", { reason: "transient" })).toBe(1);
    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dropped" })).toBe(1);
    expect(sampleValue(families, "netmesh_events_dropped_total", { reason: "retriesExhausted" })).toBe(5);
    expect(sampleValue(families, "netmesh_events_uncertain_total", { reason: "retriesExhausted" })).toBe(5);
    expect(histogram(families, "netmesh_batch_size_events").count).toBe(0);
    expectCountersEqualStats(families, bus.stats());
  });

  it("counts a batch abandoned at a shutdown deadline as dropped, but not the queued events dropped with it", async () => {
    const { bus, registry } = await scripted(["hang"], { adapterTimeoutMs: 60_000 });
    for (let i = 0; i < 4; i++) bus.ingest({ i });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the batch of 4 is in flight, hanging
    for (let i = 0; i < 6; i++) bus.ingest({ i }); // queued behind it
    await bus.shutdown({ deadlineMs: 100 });

    const families = await scrape(registry);
    const stats = bus.stats();
    expect(stats.droppedBy.shutdownDeadline).toBe(10);
    expect(sampleValue(families, "netmesh_batches_total", { outcome: "dropped" })).toBe(1);
    expect(sampleValue(families, "netmesh_events_uncertain_total", { reason: "shutdownDeadline" })).toBe(4);
    expectCountersEqualStats(families, stats);
  });
});
