import { createBus, type EventBus, TransientError } from "@netmesh/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { collectBusMetricsOtel } from "../src/otel.js";
import { FakeMeter, type Observation } from "./support/fake-meter.js";
import { ScriptedAdapter } from "./support/scripted-adapter.js";

// The OpenTelemetry route must work where neither peer is installed: the meter is handed in, and the
// API is used for its types only. Both modules throw when loaded in this file.
vi.mock("prom-client", () => {
  throw new Error("prom-client is not installed");
});
vi.mock("@opentelemetry/api", () => {
  throw new Error("@opentelemetry/api is not installed");
});

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.shutdown()));
});

/** Kind, unit and value type of every instrument (`ValueType.INT` is 0, `DOUBLE` 1). */
const EXPECTED = {
  netmesh_events_ingested: ["observableCounter", "{event}", 0],
  netmesh_events_dispatched: ["observableCounter", "{event}", 0],
  netmesh_events_dropped: ["observableCounter", "{event}", 0],
  netmesh_events_uncertain: ["observableCounter", "{event}", 0],
  netmesh_events_rejected: ["observableCounter", "{event}", 0],
  netmesh_batches: ["observableCounter", "{batch}", 0],
  netmesh_retries: ["observableCounter", "{retry}", 0],
  netmesh_ring_fill_ratio: ["observableGauge", "1", 1],
  netmesh_events_pending: ["observableGauge", "{event}", 0],
  netmesh_shards: ["observableGauge", "{shard}", 0],
  netmesh_batch_size_events: ["histogram", "{event}", 0],
  netmesh_batch_bytes: ["histogram", "By", 0],
  netmesh_adapter_duration_seconds: ["histogram", "s", 1],
  netmesh_queue_delay_seconds: ["histogram", "s", 1],
} as const;

function single(observed: Map<string, Observation[]>, name: string, attributes: Record<string, string> = {}) {
  const matching = (observed.get(name) ?? []).filter((observation) =>
    Object.entries(attributes).every(([key, value]) => observation.attributes[key] === value),
  );
  expect(matching, `${name}${JSON.stringify(attributes)}`).toHaveLength(1);
  return matching[0]!.value;
}

describe("the OpenTelemetry route", () => {
  it("creates the same instruments with units, and observes stats() and the diagnostics", async () => {
    const adapter = new ScriptedAdapter([new TransientError("blip")]);
    const bus = await createBus({ adapter, shards: 3, retryBaseDelayMs: 1, ringCapacity: 1024 });
    buses.push(bus);
    const meter = new FakeMeter();
    const handle = collectBusMetricsOtel(bus, { meter, maxShardLabels: 2 });

    expect([...meter.instruments.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(handle.names).toEqual(Object.keys(EXPECTED));
    for (const [name, [kind, unit, valueType]] of Object.entries(EXPECTED)) {
      const instrument = meter.instruments.get(name)!;
      expect(instrument.kind, name).toBe(kind);
      expect(instrument.options?.unit, name).toBe(unit);
      expect(instrument.options?.valueType, name).toBe(valueType);
      expect(instrument.options?.description?.length, name).toBeGreaterThan(10);
    }
    expect(
      meter.instruments.get("netmesh_adapter_duration_seconds")!.options?.advice?.explicitBucketBoundaries,
    ).toContain(0.001);
    expect(meter.batchCallbackCount).toBe(1);

    let bytes = 0;
    for (let i = 0; i < 500; i++) {
      const raw = bus.prepare({ i }, { key: `k${i % 11}` });
      bus.ingestRaw(raw);
      bytes += Buffer.byteLength(raw.json);
    }
    await bus.flush();

    const observed = await meter.collect();
    const stats = bus.stats();
    expect(single(observed, "netmesh_events_ingested")).toBe(stats.ingested);
    expect(single(observed, "netmesh_events_dispatched")).toBe(500);
    for (const [reason, count] of Object.entries(stats.droppedBy)) {
      expect(single(observed, "netmesh_events_dropped", { reason })).toBe(count);
    }
    for (const [reason, count] of Object.entries(stats.rejectedBy)) {
      expect(single(observed, "netmesh_events_rejected", { reason })).toBe(count);
    }
    expect(observed.get("netmesh_events_uncertain")).toHaveLength(Object.keys(stats.uncertainBy).length);
    expect(single(observed, "netmesh_batches", { outcome: "dispatched" })).toBe(stats.batches);
    expect(single(observed, "netmesh_batches", { outcome: "dropped" })).toBe(0);
    expect(single(observed, "netmesh_retries", { reason: "transient" })).toBe(1);
    expect(observed.get("netmesh_ring_fill_ratio")!.map((o) => o.attributes.shard)).toEqual([
      "0",
      "1",
      "__overflow__",
    ]);
    expect(single(observed, "netmesh_events_pending", { shard: "__overflow__" })).toBe(0);
    expect(single(observed, "netmesh_shards", { state: "active" })).toBe(3);

    const records = (name: string) => meter.instruments.get(name)!.records;
    expect(records("netmesh_batch_size_events")).toHaveLength(stats.batches);
    expect(records("netmesh_batch_size_events").reduce((sum, r) => sum + r.value, 0)).toBe(500);
    expect(records("netmesh_batch_bytes").reduce((sum, r) => sum + r.value, 0)).toBe(bytes);
    const durations = records("netmesh_adapter_duration_seconds");
    expect(durations).toHaveLength(stats.batches);
    expect(durations.every((r) => r.attributes?.adapter === "memory" && r.value >= 0 && r.value < 10)).toBe(
      true,
    );
    expect(records("netmesh_queue_delay_seconds")).toHaveLength(stats.batches);

    handle.stop();
    expect(meter.batchCallbackCount).toBe(0);
    bus.ingest({ after: "stop" });
    await bus.flush();
    expect(records("netmesh_batch_size_events")).toHaveLength(stats.batches);
    expect((await meter.collect()).size).toBe(0);
  });

  it("loads without prom-client or @opentelemetry/api at run time (both are mocked to throw here)", async () => {
    await expect(import("prom-client")).rejects.toThrow(/mocking a module/);
    await expect(import("@opentelemetry/api")).rejects.toThrow(/mocking a module/);
    const otel = await import("../src/otel.js");
    expect(typeof otel.collectBusMetricsOtel).toBe("function");
  });

  it("validates the prefix against OpenTelemetry's instrument name rules", async () => {
    const bus = await createBus();
    buses.push(bus);
    expect(() => collectBusMetricsOtel(bus, { meter: new FakeMeter(), prefix: "1abc" })).toThrow(TypeError);
    const meter = new FakeMeter();
    collectBusMetricsOtel(bus, { meter, prefix: "netmesh." }).stop();
    expect(meter.instruments.has("netmesh.events_ingested")).toBe(true);
  });
});
