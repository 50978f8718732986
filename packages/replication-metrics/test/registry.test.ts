import { describe, expect, it } from "vitest";
import {
  LAG_SATURATED_MICROS,
  MAX_TRACKED_CHANNELS,
  OVERFLOW_CHANNEL_LABEL,
  ReplicationMetricsRegistry,
  U64_MAX,
} from "../src/index.js";

describe("ReplicationMetricsRegistry", () => {
  it("starts empty", () => {
    const registry = new ReplicationMetricsRegistry();
    expect(registry.isEmpty).toBe(true);
    expect(registry.len).toBe(0);
    expect(registry.snapshot().channels).toEqual([]);
  });

  it("returns the same counters for the same channel, distinct ones for others", () => {
    const registry = new ReplicationMetricsRegistry();
    const a = registry.forChannel("payments");
    expect(registry.forChannel("payments")).toBe(a);
    const b = registry.forChannel("refunds");
    a.incrLeaderChange();
    b.incrLeaderChange();
    b.incrLeaderChange();
    expect(registry.len).toBe(2);
    expect(registry.channel("payments")?.leaderChangesTotal).toBe(1n);
    expect(registry.channel("refunds")?.leaderChangesTotal).toBe(2n);
    expect(registry.channel("never-seen")).toBeUndefined();
    expect(registry.len).toBe(2); // channel() does not create
  });

  it("keeps each counter separately", () => {
    const registry = new ReplicationMetricsRegistry();
    const m = registry.forChannel("c1");
    m.incrSyncBytes(1024);
    m.incrSyncBytes(512);
    m.incrLeaderChange();
    m.incrUnderCapacity();
    m.incrSkipAhead();
    m.incrElectionThrash();
    m.incrElectionThrash();
    m.incrWitnessWithdrawal();
    m.incrAnnounceDivergence();
    expect(registry.channel("c1")).toMatchObject({
      syncBytesTotal: 1536n,
      leaderChangesTotal: 1n,
      underCapacityTotal: 1n,
      skipAheadTotal: 1n,
      electionThrashTotal: 2n,
      witnessWithdrawalsTotal: 1n,
      announceDivergenceTotal: 1n,
    });
  });

  it("reports lags as absent until observed, then in seconds and exact µs", () => {
    const registry = new ReplicationMetricsRegistry();
    const m = registry.forChannel("c1");
    expect(registry.channel("c1")).toMatchObject({
      leaderLagSeconds: undefined,
      replicaLagSeconds: undefined,
    });
    m.recordLeaderLag(250);
    m.recordReplicaLag(0.5);
    expect(registry.channel("c1")).toMatchObject({
      leaderLagSeconds: 0.25,
      leaderLagMicros: 250_000n,
      replicaLagSeconds: 0.0005,
      replicaLagMicros: 500n,
    });
  });

  it("converts ms to whole µs without float noise, and never throws on odd durations", () => {
    const m = new ReplicationMetricsRegistry().forChannel("c");
    m.recordLeaderLag(1.001); // 1.001 × 1000 = 1000.9999999999999 in doubles
    expect(m.leaderLagMicros).toBe(1001n);
    m.recordLeaderLag(0.0009); // 0.9 µs truncates, as the crate's as_micros does
    expect(m.leaderLagMicros).toBe(0n);
    m.recordLeaderLag(-5); // a clock stepping back is no lag, not a negative one
    expect(m.leaderLagMicros).toBe(0n);
    m.recordLeaderLag(7);
    m.recordLeaderLag(Number.NaN); // nothing to record: the last value stays
    expect(m.leaderLagMicros).toBe(7_000n);
    m.recordLeaderLag(Number.POSITIVE_INFINITY);
    expect(m.leaderLagMicros).toBe(LAG_SATURATED_MICROS);
    m.recordReplicaLag(Number.MAX_VALUE);
    expect(m.replicaLagMicros).toBe(LAG_SATURATED_MICROS);
    // u64::MAX µs (the crate's sentinel) in ms is still an observation, stored below the sentinel.
    m.recordReplicaLag(Number(U64_MAX) / 1_000);
    expect(m.replicaLagMicros).toBe(U64_MAX - 1n);
    expect(LAG_SATURATED_MICROS).toBe(U64_MAX - 1n);
  });

  it("keeps u64 counters exact past 2^53 and saturates at 2^64 − 1 instead of wrapping", () => {
    const m = new ReplicationMetricsRegistry().forChannel("c");
    m.incrSyncBytes(2 ** 53);
    m.incrSyncBytes(2 ** 53);
    m.incrSyncBytes(1);
    expect(m.syncBytesTotal).toBe(2n ** 54n + 1n); // a double would say 2^54
    m.incrSyncBytes(U64_MAX);
    expect(m.syncBytesTotal).toBe(U64_MAX);
    m.incrSyncBytes(1);
    expect(m.syncBytesTotal).toBe(U64_MAX);
    m.incrSyncBytes(-10); // ignored: a counter never goes down
    m.incrSyncBytes(Number.NaN);
    expect(m.syncBytesTotal).toBe(U64_MAX);
    const n = new ReplicationMetricsRegistry().forChannel("n");
    n.incrSyncBytes(2.9);
    n.incrSyncBytes(10n);
    n.incrSyncBytes(-3n);
    expect(n.syncBytesTotal).toBe(12n);
    n.incrSyncBytes(Number.POSITIVE_INFINITY);
    expect(n.syncBytesTotal).toBe(U64_MAX);
  });

  it("sorts snapshot rows by channel name in UTF-8 byte order", () => {
    const registry = new ReplicationMetricsRegistry();
    for (const name of ["zebra", "alpha", "delta", "bravo", "Zulu", "\u{1F600}", "\uFFFF", "é"]) {
      registry.forChannel(name);
    }
    const names = registry.snapshot().channels.map((c) => c.channel);
    // U+FFFF (EF BF BF) sorts before U+1F600 (F0 9F 98 80), although its UTF-16 unit is larger.
    expect(names).toEqual(["Zulu", "alpha", "bravo", "delta", "zebra", "é", "\uFFFF", "\u{1F600}"]);
  });

  it("folds channels past the cap into the overflow bucket", () => {
    const registry = new ReplicationMetricsRegistry();
    for (let i = 0; i < MAX_TRACKED_CHANNELS; i++) registry.forChannel(`channel-${i}`);
    expect(registry.len).toBe(MAX_TRACKED_CHANNELS);
    const late = registry.forChannel("late-comer");
    late.incrLeaderChange();
    const later = registry.forChannel("another-late-comer");
    expect(later).toBe(late);
    later.incrLeaderChange();
    expect(registry.len).toBe(MAX_TRACKED_CHANNELS + 1);
    expect(registry.channel(OVERFLOW_CHANNEL_LABEL)?.leaderChangesTotal).toBe(2n);
    expect(registry.channel("late-comer")).toBeUndefined();
    expect(registry.channel("channel-0")?.leaderChangesTotal).toBe(0n);
    // However many new names come, the registry stays at cap + 1.
    for (let i = 0; i < 5_000; i++) registry.forChannel(`flood-${i}`);
    expect(registry.len).toBe(MAX_TRACKED_CHANNELS + 1);
    expect(registry.snapshot().channels).toHaveLength(MAX_TRACKED_CHANNELS + 1);
  });

  it("lets a channel seen before the cap keep its own counters", () => {
    const registry = new ReplicationMetricsRegistry();
    registry.forChannel("known").incrLeaderChange();
    for (let i = 0; i < MAX_TRACKED_CHANNELS - 1; i++) registry.forChannel(`channel-${i}`);
    registry.forChannel("known").incrLeaderChange();
    expect(registry.channel("known")?.leaderChangesTotal).toBe(2n);
    expect(registry.channel(OVERFLOW_CHANNEL_LABEL)).toBeUndefined();
    registry.forChannel("new-one");
    registry.forChannel("known").incrLeaderChange();
    expect(registry.channel("known")?.leaderChangesTotal).toBe(3n);
  });

  it("treats a name with a lone surrogate as the name a scrape would show", () => {
    const registry = new ReplicationMetricsRegistry();
    const a = registry.forChannel("bad\uD800name");
    expect(registry.forChannel("bad\uFFFDname")).toBe(a);
    expect(registry.forChannel("bad\uD800name")).toBe(a);
    expect(registry.snapshot().channels.map((c) => c.channel)).toEqual(["bad\uFFFDname"]);
    expect(registry.forChannel("ok\u{1F600}")).not.toBe(a); // a proper pair is left alone
  });

  it("sums every counter across channels, exactly, under the crate's keys", () => {
    const registry = new ReplicationMetricsRegistry();
    expect(registry.totals()).toEqual({
      sync_bytes_total: 0n,
      leader_changes_total: 0n,
      under_capacity_total: 0n,
      skip_ahead_total: 0n,
      election_thrash_total: 0n,
      witness_withdrawals_total: 0n,
      announce_divergence_total: 0n,
    });
    const a = registry.forChannel("a");
    const b = registry.forChannel("b");
    a.incrSyncBytes(100);
    b.incrSyncBytes(200);
    a.incrLeaderChange();
    b.incrLeaderChange();
    b.incrLeaderChange();
    b.incrWitnessWithdrawal();
    expect(registry.totals()).toMatchObject({
      sync_bytes_total: 300n,
      leader_changes_total: 3n,
      witness_withdrawals_total: 1n,
      skip_ahead_total: 0n,
    });
    // Two saturated channels: the total is the true sum, beyond u64 (the crate's u64 sum would overflow).
    a.incrSyncBytes(U64_MAX);
    b.incrSyncBytes(U64_MAX);
    expect(registry.snapshot().totals().sync_bytes_total).toBe(2n * U64_MAX);
  });

  it("gives snapshots that do not move with later updates", () => {
    const registry = new ReplicationMetricsRegistry();
    const m = registry.forChannel("c");
    m.incrSkipAhead();
    const before = registry.snapshot();
    m.incrSkipAhead();
    expect(before.channel("c")?.skipAheadTotal).toBe(1n);
    expect(registry.snapshot().channel("c")?.skipAheadTotal).toBe(2n);
    expect(Object.isFrozen(before.channels)).toBe(true);
  });
});
