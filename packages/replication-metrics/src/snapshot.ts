import type { ChannelReplicationMetrics } from "./channel-metrics.js";
import { renderReplicationText } from "./prometheus-text.js";

/** One channel's figures at the moment of a snapshot. Counters are u64 bigints. */
export interface ChannelMetrics {
  /** The channel name (or `__overflow__` for the bucket of channels past the cap). */
  readonly channel: string;
  /** Leader-side lag in seconds (µs / 10^6, as the crate reports it); `undefined` until observed. */
  readonly leaderLagSeconds: number | undefined;
  /** Replica-side lag in seconds; `undefined` until observed. */
  readonly replicaLagSeconds: number | undefined;
  /** Leader-side lag in whole µs, exact; `undefined` until observed. */
  readonly leaderLagMicros: bigint | undefined;
  /** Replica-side lag in whole µs, exact; `undefined` until observed. */
  readonly replicaLagMicros: bigint | undefined;
  /** Bytes shipped to replicas to bring them up to date. */
  readonly syncBytesTotal: bigint;
  /** Leader changes seen. */
  readonly leaderChangesTotal: bigint;
  /** Times the channel fell under its replica capacity. */
  readonly underCapacityTotal: bigint;
  /** Times a replica skipped ahead instead of replaying a large gap. */
  readonly skipAheadTotal: bigint;
  /** Leader changes within 30 s of the previous one. */
  readonly electionThrashTotal: bigint;
  /** Witness withdrawals issued for a deposed leader. */
  readonly witnessWithdrawalsTotal: bigint;
  /** Transitions to idle whose withdrawal from the mesh failed. */
  readonly announceDivergenceTotal: bigint;
}

/** The keys of {@link ReplicationTotals}: the crate's names for its seven counters. */
export type CounterKey =
  | "sync_bytes_total"
  | "leader_changes_total"
  | "under_capacity_total"
  | "skip_ahead_total"
  | "election_thrash_total"
  | "witness_withdrawals_total"
  | "announce_divergence_total";

/** Each counter summed over every channel: exact sums (they may exceed u64 across channels). */
export type ReplicationTotals = Readonly<Record<CounterKey, bigint>>;

/** The field of {@link ChannelMetrics} behind each totals key. */
const TOTAL_FIELDS: ReadonlyArray<readonly [CounterKey, keyof ChannelMetrics]> = [
  ["sync_bytes_total", "syncBytesTotal"],
  ["leader_changes_total", "leaderChangesTotal"],
  ["under_capacity_total", "underCapacityTotal"],
  ["skip_ahead_total", "skipAheadTotal"],
  ["election_thrash_total", "electionThrashTotal"],
  ["witness_withdrawals_total", "witnessWithdrawalsTotal"],
  ["announce_divergence_total", "announceDivergenceTotal"],
];

/**
 * Orders strings by code point, which is the byte order of their UTF-8 forms: the order the crate's
 * `String` comparison gives. Plain `<` compares UTF-16 units and would put a character above U+FFFF
 * (a surrogate pair, 0xD800…) before U+E000…U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates above U+E000…U+FFFF, so UTF-16 units compare in code point order. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

function secondsOf(micros: bigint | undefined): number | undefined {
  return micros === undefined ? undefined : Number(micros) / 1_000_000;
}

/** Copies a channel's live counters into a plain row. */
export function rowOf(channel: string, live: ChannelReplicationMetrics): ChannelMetrics {
  return Object.freeze({
    channel,
    leaderLagSeconds: secondsOf(live.leaderLagMicros),
    replicaLagSeconds: secondsOf(live.replicaLagMicros),
    leaderLagMicros: live.leaderLagMicros,
    replicaLagMicros: live.replicaLagMicros,
    syncBytesTotal: live.syncBytesTotal,
    leaderChangesTotal: live.leaderChangesTotal,
    underCapacityTotal: live.underCapacityTotal,
    skipAheadTotal: live.skipAheadTotal,
    electionThrashTotal: live.electionThrashTotal,
    witnessWithdrawalsTotal: live.witnessWithdrawalsTotal,
    announceDivergenceTotal: live.announceDivergenceTotal,
  });
}

/** Every tracked channel at one moment, sorted by channel name (code point order). Immutable. */
export class ReplicationMetricsSnapshot {
  /** One row per channel, sorted by name. */
  readonly channels: readonly ChannelMetrics[];

  /** Sorts `rows` by channel name; used by the registry, rarely useful directly. */
  constructor(rows: readonly ChannelMetrics[]) {
    this.channels = Object.freeze([...rows].sort((a, b) => compareCodePoints(a.channel, b.channel)));
  }

  /** The row of `channel`; `undefined` when it is not tracked (never seen, or folded into the overflow bucket). */
  channel(channel: string): ChannelMetrics | undefined {
    return this.channels.find((row) => row.channel === channel);
  }

  /**
   * Each counter summed over every channel, under the crate's keys (`sync_bytes_total`, …). Every key
   * is present, 0 when there are no channels.
   */
  totals(): ReplicationTotals {
    const totals = Object.fromEntries(TOTAL_FIELDS.map(([key]) => [key, 0n])) as Record<CounterKey, bigint>;
    for (const row of this.channels) {
      for (const [key, field] of TOTAL_FIELDS) totals[key] += row[field] as bigint;
    }
    return Object.freeze(totals);
  }

  /** The Prometheus text exposition (format 0.0.4) of this snapshot, byte for byte the crate's. */
  renderPrometheus(): string {
    return renderReplicationText(this.channels, "prometheus");
  }
}
