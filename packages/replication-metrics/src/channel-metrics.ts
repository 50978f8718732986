import { U64_MAX, millisToMicros, saturatingAdd, toCount } from "./u64.js";

/**
 * The live counters of one channel, handed out by `ReplicationMetricsRegistry.forChannel`. Keep the
 * handle and bump it on the hot path: each method is a field update, and none of them throws,
 * whatever it is given.
 *
 * Lags are gauges in whole µs (`undefined` until the first observation); the seven counters are u64
 * bigints that saturate at 2^64 − 1.
 */
export class ChannelReplicationMetrics {
  #leaderLagMicros: bigint | undefined = undefined;
  #replicaLagMicros: bigint | undefined = undefined;
  #syncBytesTotal: bigint = 0n;
  #leaderChangesTotal: bigint = 0n;
  #underCapacityTotal: bigint = 0n;
  #skipAheadTotal: bigint = 0n;
  #electionThrashTotal: bigint = 0n;
  #witnessWithdrawalsTotal: bigint = 0n;
  #announceDivergenceTotal: bigint = 0n;

  /** Leader-side view of the channel's lag, µs; `undefined` until observed. */
  get leaderLagMicros(): bigint | undefined {
    return this.#leaderLagMicros;
  }

  /** Replica-side view of the channel's lag, µs; `undefined` until observed. */
  get replicaLagMicros(): bigint | undefined {
    return this.#replicaLagMicros;
  }

  /** Bytes shipped to replicas to bring them up to date. */
  get syncBytesTotal(): bigint {
    return this.#syncBytesTotal;
  }

  /** Leader changes (completed elections, failovers, promotions) seen. */
  get leaderChangesTotal(): bigint {
    return this.#leaderChangesTotal;
  }

  /** Times the channel fell under its replica capacity. */
  get underCapacityTotal(): bigint {
    return this.#underCapacityTotal;
  }

  /** Times a replica skipped ahead instead of replaying a large gap. */
  get skipAheadTotal(): bigint {
    return this.#skipAheadTotal;
  }

  /** Leader changes within 30 s of the previous one. */
  get electionThrashTotal(): bigint {
    return this.#electionThrashTotal;
  }

  /** Witness withdrawals issued for a deposed leader. */
  get witnessWithdrawalsTotal(): bigint {
    return this.#witnessWithdrawalsTotal;
  }

  /** Transitions to idle whose withdrawal from the mesh failed. */
  get announceDivergenceTotal(): bigint {
    return this.#announceDivergenceTotal;
  }

  /**
   * Records the leader's view of the lag, in ms. Stored as whole µs; negative counts as 0, a value
   * beyond u64 µs (or `Infinity`) as the saturated lag, and NaN is ignored.
   */
  recordLeaderLag(ms: number): void {
    const micros = millisToMicros(ms);
    if (micros !== undefined) this.#leaderLagMicros = micros;
  }

  /** Records the replica's view of the lag, in ms; same rules as {@link recordLeaderLag}. */
  recordReplicaLag(ms: number): void {
    const micros = millisToMicros(ms);
    if (micros !== undefined) this.#replicaLagMicros = micros;
  }

  /** Adds `bytes` to the sync-bytes counter (a bigint keeps counts past 2^53 exact). */
  incrSyncBytes(bytes: number | bigint): void {
    this.#syncBytesTotal = saturatingAdd(this.#syncBytesTotal, toCount(bytes));
  }

  /** Counts one leader change. */
  incrLeaderChange(): void {
    if (this.#leaderChangesTotal < U64_MAX) this.#leaderChangesTotal++;
  }

  /** Counts one fall under capacity. */
  incrUnderCapacity(): void {
    if (this.#underCapacityTotal < U64_MAX) this.#underCapacityTotal++;
  }

  /** Counts one replica skip-ahead. */
  incrSkipAhead(): void {
    if (this.#skipAheadTotal < U64_MAX) this.#skipAheadTotal++;
  }

  /** Counts one election within 30 s of the previous one. */
  incrElectionThrash(): void {
    if (this.#electionThrashTotal < U64_MAX) this.#electionThrashTotal++;
  }

  /** Counts one witness withdrawal. */
  incrWitnessWithdrawal(): void {
    if (this.#witnessWithdrawalsTotal < U64_MAX) this.#witnessWithdrawalsTotal++;
  }

  /** Counts one announce divergence. */
  incrAnnounceDivergence(): void {
    if (this.#announceDivergenceTotal < U64_MAX) this.#announceDivergenceTotal++;
  }
}
