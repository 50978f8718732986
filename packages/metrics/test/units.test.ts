import type { ShardStats } from "@netmesh/core";
import { describe, expect, it } from "vitest";
import { DEFAULT_BUCKETS, isBatchDrop, METRIC_CATALOG, OVERFLOW_SHARD_LABEL } from "../src/index.js";
import { shardSeries } from "../src/shard-series.js";

function shard(id: number, queued: number, inFlight = 0, capacity = 16): ShardStats {
  return {
    id,
    state: "active",
    ingested: 0,
    dispatched: 0,
    dropped: 0,
    batches: 0,
    queued,
    bytesQueued: queued * 100,
    inFlight,
    capacity,
    byteCapacity: capacity * 100,
    fill: queued / capacity,
    nextSequence: 0,
  };
}

describe("shardSeries", () => {
  it("gives each shard its own series up to the cap, lowest ids first, and aggregates the rest", () => {
    const shards = [shard(9, 4, 1), shard(2, 8), shard(5, 2, 3, 32), shard(7, 0)];
    expect(shardSeries(shards, 2)).toEqual([
      { shard: "2", fill: 0.5, pending: 8 },
      { shard: "5", fill: 2 / 32, pending: 5 },
      { shard: OVERFLOW_SHARD_LABEL, fill: 4 / 32, pending: 5 },
    ]);
  });

  it("adds no overflow series at or below the cap, and folds everything with a cap of 0", () => {
    expect(shardSeries([shard(0, 1), shard(1, 2)], 2).map((s) => s.shard)).toEqual(["0", "1"]);
    expect(shardSeries([shard(0, 1), shard(1, 3)], 0)).toEqual([
      { shard: OVERFLOW_SHARD_LABEL, fill: 4 / 32, pending: 4 },
    ]);
    expect(shardSeries([], 0)).toEqual([]);
  });
});

describe("isBatchDrop", () => {
  const message = (
    reason: Parameters<typeof isBatchDrop>[0]["reason"],
    uncertain: boolean,
    scope: Parameters<typeof isBatchDrop>[0]["scope"],
  ) => ({
    producer: "p",
    shard: 0,
    reason,
    count: 3,
    uncertain,
    scope,
  });
  it("counts the drops of whole batches, whatever their reason, and not queued or single events", () => {
    expect(isBatchDrop(message("retriesExhausted", false, "batch"))).toBe(true);
    expect(isBatchDrop(message("shutdownDeadline", false, "batch"))).toBe(true);
    expect(isBatchDrop(message("shutdownDeadline", false, "queued"))).toBe(false);
    expect(isBatchDrop(message("evicted", false, "event"))).toBe(false);
    expect(isBatchDrop(message("tooLarge", false, "event"))).toBe(false);
  });
});

describe("the catalog", () => {
  it("names counters with _total (OpenTelemetry without), units in UCUM, ascending default buckets", () => {
    for (const definition of Object.values(METRIC_CATALOG)) {
      expect(definition.name.endsWith("_total")).toBe(definition.kind === "counter");
      expect(definition.otelName).toBe(definition.name.replace(/_total$/, ""));
      expect(definition.unit).toMatch(/^(s|By|1|\{[a-z]+\})$/);
    }
    for (const bounds of Object.values(DEFAULT_BUCKETS)) {
      expect([...bounds].sort((a, b) => a - b)).toEqual([...bounds]);
    }
  });
});
