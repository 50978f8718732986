import type { ShardStats } from "@netmesh/core";

/** The `shard` label of the series that aggregates every shard past `maxShardLabels`. */
export const OVERFLOW_SHARD_LABEL = "__overflow__";

/** Default most shards with series of their own. */
export const DEFAULT_MAX_SHARD_LABELS = 64;

/** The per-shard gauge values of one series. */
export interface ShardSeries {
  /** The shard id as a string, or {@link OVERFLOW_SHARD_LABEL}. */
  readonly shard: string;
  /** `queued / capacity` (for the overflow series: summed queued over summed capacity). */
  readonly fill: number;
  /** Queued plus in-flight events. */
  readonly pending: number;
}

/**
 * Folds the live shards into at most `maxShardLabels + 1` series: the first `maxShardLabels` shards in
 * ascending id order get their own, the rest share {@link OVERFLOW_SHARD_LABEL}. Lowest ids first
 * because ids only grow (a scaled-up shard gets a new id), so long-lived shards keep their series while
 * short-lived ones fold into the overflow. Gauges are rebuilt at every scrape, so a removed shard's series
 * disappears with it.
 */
export function shardSeries(shards: readonly ShardStats[], maxShardLabels: number): ShardSeries[] {
  const sorted = isAscending(shards) ? shards : [...shards].sort((a, b) => a.id - b.id);
  const series: ShardSeries[] = [];
  let overflowQueued = 0;
  let overflowCapacity = 0;
  let overflowPending = 0;
  for (const [index, shard] of sorted.entries()) {
    const pending = shard.queued + shard.inFlight;
    if (index < maxShardLabels) {
      series.push({ shard: String(shard.id), fill: shard.fill, pending });
    } else {
      overflowQueued += shard.queued;
      overflowCapacity += shard.capacity;
      overflowPending += pending;
    }
  }
  if (sorted.length > maxShardLabels) {
    series.push({
      shard: OVERFLOW_SHARD_LABEL,
      fill: overflowCapacity === 0 ? 0 : overflowQueued / overflowCapacity,
      pending: overflowPending,
    });
  }
  return series;
}

function isAscending(shards: readonly ShardStats[]): boolean {
  for (let i = 1; i < shards.length; i++) if (shards[i - 1]!.id >= shards[i]!.id) return false;
  return true;
}
