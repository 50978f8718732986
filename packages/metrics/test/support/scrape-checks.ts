import type { BusStats } from "@netmesh/core";
import type { Registry } from "prom-client";
import { expect } from "vitest";
import { type Family, parsePrometheusText, samplesOf, sampleValue } from "./prom-text.js";

/** Every family a collector exposes with the default prefix, and its TYPE. */
export const EXPECTED_TYPES: Readonly<Record<string, string>> = {
  netmesh_events_ingested_total: "counter",
  netmesh_events_dispatched_total: "counter",
  netmesh_events_dropped_total: "counter",
  netmesh_events_uncertain_total: "counter",
  netmesh_events_rejected_total: "counter",
  netmesh_batches_total: "counter",
  netmesh_retries_total: "counter",
  netmesh_ring_fill_ratio: "gauge",
  netmesh_events_pending: "gauge",
  netmesh_shards: "gauge",
  netmesh_batch_size_events: "histogram",
  netmesh_batch_bytes: "histogram",
  netmesh_adapter_duration_seconds: "histogram",
  netmesh_queue_delay_seconds: "histogram",
};

/** Scrapes the registry through prom-client's text output and parses it. */
export async function scrape(registry: Registry): Promise<Map<string, Family>> {
  return parsePrometheusText(await registry.metrics());
}

/** Checks that every expected family is there, with its TYPE and a HELP text. */
export function expectFamilies(families: Map<string, Family>, prefix = "netmesh_"): void {
  for (const [name, type] of Object.entries(EXPECTED_TYPES)) {
    const family = families.get(prefix + name.slice("netmesh_".length));
    expect(family, name).toBeDefined();
    expect(family!.type, name).toBe(type);
    expect(family!.help.length, name).toBeGreaterThan(10);
  }
}

/** Checks that every counter read from stats() equals it, reason by reason. */
export function expectCountersEqualStats(families: Map<string, Family>, stats: BusStats): void {
  expect(sampleValue(families, "netmesh_events_ingested_total")).toBe(stats.ingested);
  expect(sampleValue(families, "netmesh_events_dispatched_total")).toBe(stats.dispatched);
  const byLabel = (family: string, counts: Readonly<Record<string, number>>) => {
    const samples = samplesOf(families, family);
    expect(samples.map((sample) => sample.labels.reason).sort(), family).toEqual(Object.keys(counts).sort());
    for (const [reason, count] of Object.entries(counts)) {
      expect(sampleValue(families, family, { reason }), `${family}{reason="${reason}"}`).toBe(count);
    }
  };
  byLabel("netmesh_events_dropped_total", stats.droppedBy);
  byLabel("netmesh_events_uncertain_total", stats.uncertainBy);
  byLabel("netmesh_events_rejected_total", stats.rejectedBy);
  expect(sampleValue(families, "netmesh_batches_total", { outcome: "dispatched" })).toBe(stats.batches);
}

/** Checks a histogram's buckets: cumulative, ending with +Inf equal to the count. Returns its count and sum. */
export function histogram(
  families: Map<string, Family>,
  family: string,
  labels: Readonly<Record<string, string>> = {},
): { count: number; sum: number } {
  const buckets = samplesOf(families, family, labels, `${family}_bucket`);
  expect(buckets.length, family).toBeGreaterThan(1);
  const bound = (le: string | undefined) => (le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le));
  for (let i = 1; i < buckets.length; i++) {
    expect(bound(buckets[i]!.labels.le), family).toBeGreaterThan(bound(buckets[i - 1]!.labels.le));
    expect(buckets[i]!.value, family).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
  }
  const count = sampleValue(families, family, labels, `${family}_count`);
  expect(buckets.at(-1)!.labels.le).toBe("+Inf");
  expect(buckets.at(-1)!.value).toBe(count);
  return { count, sum: sampleValue(families, family, labels, `${family}_sum`) };
}
