import { describe, expect, it } from "vitest";
import {
  METRIC_NAMES,
  MAX_TRACKED_CHANNELS,
  ReplicationMetricsRegistry,
  U64_MAX,
  escapeLabelValue,
  formatSeconds,
} from "../src/index.js";

/** The sixteen header lines, in the crate's order, with the crate's HELP texts verbatim. */
const HEADERS = {
  lag: [
    "# HELP dataforts_replication_lag_seconds Replica's tail_seq lag behind leader, per role.",
    "# TYPE dataforts_replication_lag_seconds gauge",
  ],
  sync: [
    "# HELP dataforts_replication_sync_bytes_total Cumulative bytes shipped via SYNC_RESPONSE.",
    "# TYPE dataforts_replication_sync_bytes_total counter",
  ],
  leader: [
    "# HELP dataforts_leader_changes_total Number of leader elections completed.",
    "# TYPE dataforts_leader_changes_total counter",
  ],
  under: [
    "# HELP dataforts_replication_under_capacity_total Times the channel hit UnderCapacity policy.",
    "# TYPE dataforts_replication_under_capacity_total counter",
  ],
  skip: [
    "# HELP dataforts_replication_skip_ahead_total Times a replica skipped instead of replaying a large gap.",
    "# TYPE dataforts_replication_skip_ahead_total counter",
  ],
  thrash: [
    "# HELP dataforts_replication_election_thrash_total Elections triggered within 30 s of the previous one (saturation indicator).",
    "# TYPE dataforts_replication_election_thrash_total counter",
  ],
  witness: [
    "# HELP dataforts_replication_witness_withdrawals_total Times a peer replica issued a witness Mesh::withdraw_chain for a deposed leader's tag.",
    "# TYPE dataforts_replication_witness_withdrawals_total counter",
  ],
  divergence: [
    "# HELP dataforts_replication_announce_divergence_total Times a coordinator transitioned to Idle but its mesh-side withdraw_chain call failed; non-zero values mean the mesh may still advertise this node as a chain holder.",
    "# TYPE dataforts_replication_announce_divergence_total counter",
  ],
};

const text = (...lines: string[]) => `${lines.join("\n")}\n`;

describe("renderPrometheus", () => {
  it("prints all sixteen headers for an empty registry", () => {
    expect(new ReplicationMetricsRegistry().renderPrometheus()).toBe(
      text(
        ...HEADERS.lag,
        ...HEADERS.sync,
        ...HEADERS.leader,
        ...HEADERS.under,
        ...HEADERS.skip,
        ...HEADERS.thrash,
        ...HEADERS.witness,
        ...HEADERS.divergence,
      ),
    );
  });

  it("renders every metric of one channel (the crate's own scenario), byte for byte", () => {
    const registry = new ReplicationMetricsRegistry();
    const m = registry.forChannel("payments/settlements");
    m.incrSyncBytes(2048);
    m.incrLeaderChange();
    m.incrLeaderChange();
    m.incrUnderCapacity();
    m.incrSkipAhead();
    m.incrElectionThrash();
    m.incrWitnessWithdrawal();
    m.recordLeaderLag(125);
    m.recordReplicaLag(2_000);
    const c = 'channel="payments/settlements"';
    expect(registry.renderPrometheus()).toBe(
      text(
        ...HEADERS.lag,
        `dataforts_replication_lag_seconds{${c},role="leader"} 0.125`,
        `dataforts_replication_lag_seconds{${c},role="replica"} 2`,
        ...HEADERS.sync,
        `dataforts_replication_sync_bytes_total{${c}} 2048`,
        ...HEADERS.leader,
        `dataforts_leader_changes_total{${c}} 2`,
        ...HEADERS.under,
        `dataforts_replication_under_capacity_total{${c}} 1`,
        ...HEADERS.skip,
        `dataforts_replication_skip_ahead_total{${c}} 1`,
        ...HEADERS.thrash,
        `dataforts_replication_election_thrash_total{${c}} 1`,
        ...HEADERS.witness,
        `dataforts_replication_witness_withdrawals_total{${c}} 1`,
        ...HEADERS.divergence,
        `dataforts_replication_announce_divergence_total{${c}} 0`,
      ),
    );
    expect(registry.snapshot().renderPrometheus()).toBe(registry.renderPrometheus());
  });

  it("sorts channels, omits unobserved lag roles, escapes labels and trims seconds", () => {
    const registry = new ReplicationMetricsRegistry();
    registry.forChannel("b-replica-only").recordReplicaLag(1_500);
    registry.forChannel("a-leader-only").recordLeaderLag(0.5);
    registry.forChannel('q"uote\\slash\nnew\rret').incrSkipAhead();
    const zero = registry.forChannel("c-zero");
    zero.recordLeaderLag(0);
    zero.recordReplicaLag(0.001);
    const long = registry.forChannel("d-long");
    long.recordLeaderLag(123_456.789);
    long.recordReplicaLag(10_000);
    const counters = (name: string, values: number[]) => [
      `${name}{channel="a-leader-only"} ${values[0]}`,
      `${name}{channel="b-replica-only"} ${values[1]}`,
      `${name}{channel="c-zero"} ${values[2]}`,
      `${name}{channel="d-long"} ${values[3]}`,
      `${name}{channel="q\\"uote\\\\slash\\nnew\\rret"} ${values[4]}`,
    ];
    expect(registry.renderPrometheus()).toBe(
      text(
        ...HEADERS.lag,
        'dataforts_replication_lag_seconds{channel="a-leader-only",role="leader"} 0.0005',
        'dataforts_replication_lag_seconds{channel="b-replica-only",role="replica"} 1.5',
        'dataforts_replication_lag_seconds{channel="c-zero",role="leader"} 0',
        'dataforts_replication_lag_seconds{channel="c-zero",role="replica"} 0.000001',
        'dataforts_replication_lag_seconds{channel="d-long",role="leader"} 123.456789',
        'dataforts_replication_lag_seconds{channel="d-long",role="replica"} 10',
        ...HEADERS.sync,
        ...counters("dataforts_replication_sync_bytes_total", [0, 0, 0, 0, 0]),
        ...HEADERS.leader,
        ...counters("dataforts_leader_changes_total", [0, 0, 0, 0, 0]),
        ...HEADERS.under,
        ...counters("dataforts_replication_under_capacity_total", [0, 0, 0, 0, 0]),
        ...HEADERS.skip,
        ...counters("dataforts_replication_skip_ahead_total", [0, 0, 0, 0, 1]),
        ...HEADERS.thrash,
        ...counters("dataforts_replication_election_thrash_total", [0, 0, 0, 0, 0]),
        ...HEADERS.witness,
        ...counters("dataforts_replication_witness_withdrawals_total", [0, 0, 0, 0, 0]),
        ...HEADERS.divergence,
        ...counters("dataforts_replication_announce_divergence_total", [0, 0, 0, 0, 0]),
      ),
    );
  });

  it("prints u64 counters in full and the saturated lag as the crate does", () => {
    const registry = new ReplicationMetricsRegistry();
    const m = registry.forChannel("big");
    m.incrSyncBytes(U64_MAX);
    m.incrSyncBytes(1); // saturates, never wraps to 0 (a wrap would look like a counter reset)
    for (let i = 0; i < 3; i++) m.incrLeaderChange();
    m.recordLeaderLag(Number.POSITIVE_INFINITY);
    const n = registry.forChannel("past-2^53");
    n.incrSyncBytes(2 ** 53);
    n.incrSyncBytes(1);
    const out = registry.renderPrometheus();
    // (2^64 − 2) µs as an f64, / 10^6, printed with 6 decimals: the crate's digits, not the exact µs.
    expect(out).toContain(
      'dataforts_replication_lag_seconds{channel="big",role="leader"} 18446744073709.550781\n',
    );
    expect(out).not.toContain('channel="big",role="replica"');
    expect(out).toContain('dataforts_replication_sync_bytes_total{channel="big"} 18446744073709551615\n');
    expect(out).toContain('dataforts_replication_sync_bytes_total{channel="past-2^53"} 9007199254740993\n');
    expect(out).toContain('dataforts_leader_changes_total{channel="big"} 3\n');
  });

  it("keeps eight HELP and eight TYPE lines however many channels, the overflow bucket included", () => {
    const registry = new ReplicationMetricsRegistry();
    for (let i = 0; i < MAX_TRACKED_CHANNELS + 10; i++) registry.forChannel(`ch-${i}`).incrLeaderChange();
    const out = registry.renderPrometheus();
    expect(out.match(/^# HELP /gm)).toHaveLength(8);
    expect(out.match(/^# TYPE /gm)).toHaveLength(8);
    expect(out).toContain('dataforts_leader_changes_total{channel="__overflow__"} 10\n');
    expect(out.split("\n").filter((line) => line.startsWith("dataforts_leader_changes_total{"))).toHaveLength(
      MAX_TRACKED_CHANNELS + 1,
    );
    expect(METRIC_NAMES).toHaveLength(8);
    for (const name of METRIC_NAMES) expect(out).toContain(`# TYPE ${name} `);
  });
});

describe("formatSeconds", () => {
  it("trims trailing zeros and the dot", () => {
    expect(formatSeconds(250_000n)).toBe("0.25");
    expect(formatSeconds(2_000_000n)).toBe("2");
    expect(formatSeconds(500n)).toBe("0.0005");
    expect(formatSeconds(0n)).toBe("0");
    expect(formatSeconds(1n)).toBe("0.000001");
    expect(formatSeconds(10_000_000n)).toBe("10"); // zeros before the dot stay
    expect(formatSeconds(1_234_567_890n)).toBe("1234.56789");
  });

  it("matches the f64 path digit for digit where a double is coarser than 1 µs", () => {
    // Reference digits from a correctly rounded (half-to-even) formatter, as Rust's {:.6}.
    expect(formatSeconds(8_589_934_592_000_001n)).toBe("8589934592.000002");
    expect(formatSeconds(9_007_199_254_740_993n)).toBe("9007199254.740992");
    expect(formatSeconds(123_456_789_012_345_678n)).toBe("123456789012.345673");
    // An exact tie at the sixth decimal rounds to even; Number#toFixed would round it up (…164063).
    expect(formatSeconds(93_843_318_256_164_056n)).toBe("93843318256.164062");
    expect(formatSeconds(160_412_641_901_507_807n)).toBe("160412641901.507812");
  });

  it("gives whole µs below 2^33 s, where the f64 path rounds back to them", () => {
    // The fast path prints µs directly; the f64 path (toFixed is exact there: no ties) must agree.
    let seed = 42;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 20_000; i++) {
      const micros = BigInt(next()) * BigInt(next() % 4_000_000) + BigInt(next() % 1_000_000);
      if (micros >= 8_589_934_592_000_000n) continue;
      const viaDouble = (Number(micros) / 1e6).toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
      expect(formatSeconds(micros)).toBe(viaDouble);
    }
  });
});

describe("escapeLabelValue", () => {
  it("escapes backslash, quote, newline and carriage return, and nothing else", () => {
    expect(escapeLabelValue('a\\b"c\nd\re')).toBe('a\\\\b\\"c\\nd\\re');
    expect(escapeLabelValue("plain/name:with{braces} and spaces\t")).toBe(
      "plain/name:with{braces} and spaces\t",
    );
    expect(escapeLabelValue("\\\\")).toBe("\\\\\\\\");
  });
});
