import type { BusStats, ShardState } from "@netmesh/core";
import { type DiagnosticsTally, RETRY_REASONS } from "./diagnostics-tally.js";
import { type ShardSeries, shardSeries } from "./shard-series.js";

/**
 * What a collector needs of a bus: an `EventBus` fits. Typed structurally so a bus from another copy of
 * `@netmesh/core` (or a test double) fits too.
 */
export interface MeteredBus {
  /** The producer nonce: diagnostics messages of other buses are ignored. */
  readonly producer: string;
  /** The adapter, for the `adapter` label. */
  readonly adapter: { readonly name: string };
  /** The adapter's capabilities: `payload` tells whether `batch_bytes` is free (see `batchBytes`). */
  readonly capabilities?: { readonly payload?: "bytes" | "text" };
  /** The counters read at every scrape. */
  stats(): BusStats;
}

/** One labelled sample. */
export interface LabelledValue {
  /** The value of the metric's one label. */
  readonly label: string;
  /** The sample's value. */
  readonly value: number;
}

/** Every value exposed at scrape time, computed once per scrape for all the metrics. */
export interface BusReadings {
  /** `stats().ingested`. */
  readonly ingested: number;
  /** `stats().dispatched`. */
  readonly dispatched: number;
  /** By drop reason, every reason present. */
  readonly dropped: readonly LabelledValue[];
  /** Uncertain drops by reason, every reason present. */
  readonly uncertain: readonly LabelledValue[];
  /** By reject reason, every reason present. */
  readonly rejected: readonly LabelledValue[];
  /** By outcome: `dispatched`, `dropped`. */
  readonly batches: readonly LabelledValue[];
  /** By retry reason, every reason present. */
  readonly retries: readonly LabelledValue[];
  /** At most `maxShardLabels + 1` series. */
  readonly shards: readonly ShardSeries[];
  /** By shard state, every state present. */
  readonly states: readonly LabelledValue[];
}

const STATES: readonly ShardState[] = ["provisioning", "active", "draining", "stopped"];

function entries(counts: Readonly<Record<string, number>>): LabelledValue[] {
  return Object.entries(counts).map(([label, value]) => ({ label, value }));
}

/** Turns a stats snapshot and the diagnostics tally into the values of every scrape-time metric. */
export function readBus(stats: BusStats, tally: DiagnosticsTally, maxShardLabels: number): BusReadings {
  const byState: Record<ShardState, number> = { provisioning: 0, active: 0, draining: 0, stopped: 0 };
  for (const shard of stats.shards) byState[shard.state]++;
  // Removed shards leave stats().shards but stay counted: they are the shards in state "stopped".
  byState.stopped += stats.scaling.removed;
  return {
    ingested: stats.ingested,
    dispatched: stats.dispatched,
    dropped: entries(stats.droppedBy),
    uncertain: entries(stats.uncertainBy),
    rejected: entries(stats.rejectedBy),
    batches: [
      { label: "dispatched", value: stats.batches },
      { label: "dropped", value: tally.droppedBatches },
    ],
    retries: RETRY_REASONS.map((reason) => ({ label: reason, value: tally.retries[reason] })),
    shards: shardSeries(stats.shards, maxShardLabels),
    states: STATES.map((state) => ({ label: state, value: byState[state] })),
  };
}
