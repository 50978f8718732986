import type { ChannelMetrics } from "./snapshot.js";

/** Name of the lag gauge. */
export const LAG_METRIC = "dataforts_replication_lag_seconds";
/** HELP text of the lag gauge. */
export const LAG_HELP = "Replica's tail_seq lag behind leader, per role.";

/** One counter family: its metric name, HELP text and the row field it shows. */
export interface CounterFamily {
  readonly name: string;
  readonly help: string;
  readonly field: keyof ChannelMetrics;
}

/**
 * The seven counter families in output order. Names and HELP texts are the crate's, verbatim (the
 * leader-change counter really has no `replication_` infix): dashboards and alerts key on them.
 */
export const COUNTER_FAMILIES: readonly CounterFamily[] = Object.freeze([
  {
    name: "dataforts_replication_sync_bytes_total",
    help: "Cumulative bytes shipped via SYNC_RESPONSE.",
    field: "syncBytesTotal",
  },
  {
    name: "dataforts_leader_changes_total",
    help: "Number of leader elections completed.",
    field: "leaderChangesTotal",
  },
  {
    name: "dataforts_replication_under_capacity_total",
    help: "Times the channel hit UnderCapacity policy.",
    field: "underCapacityTotal",
  },
  {
    name: "dataforts_replication_skip_ahead_total",
    help: "Times a replica skipped instead of replaying a large gap.",
    field: "skipAheadTotal",
  },
  {
    name: "dataforts_replication_election_thrash_total",
    help: "Elections triggered within 30 s of the previous one (saturation indicator).",
    field: "electionThrashTotal",
  },
  {
    name: "dataforts_replication_witness_withdrawals_total",
    help: "Times a peer replica issued a witness Mesh::withdraw_chain for a deposed leader's tag.",
    field: "witnessWithdrawalsTotal",
  },
  {
    name: "dataforts_replication_announce_divergence_total",
    help:
      "Times a coordinator transitioned to Idle but its mesh-side withdraw_chain call failed; " +
      "non-zero values mean the mesh may still advertise this node as a chain holder.",
    field: "announceDivergenceTotal",
  },
]);

/** Every metric name the text carries, lag gauge first. */
export const METRIC_NAMES: readonly string[] = Object.freeze([
  LAG_METRIC,
  ...COUNTER_FAMILIES.map((f) => f.name),
]);

/** `"prometheus"`: text format 0.0.4, the crate's output. `"openmetrics"`: counter families without `_total`. */
export type TextFlavour = "prometheus" | "openmetrics";

/** Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`, carriage return → `\r`. */
export function escapeLabelValue(value: string): string {
  // Most channel names need nothing: skip the four replacements for them.
  if (!/[\\"\n\r]/.test(value)) return value;
  return value.replace(/[\\"\n\r]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : `\\${c}`));
}

/** Below 2^33 s a double's spacing is under 1 µs, so µs / 10^6 printed to 6 places is µs itself. */
const EXACT_FAST_PATH_MICROS = 8_589_934_592_000_000n;

/**
 * Formats a lag of `micros` µs as the crate does: the f64 `micros / 10^6` printed with 6 decimals
 * (rounded half to even on the double's exact value, like Rust's `{:.6}`), then trailing zeros and a
 * trailing `.` trimmed: 250,000 µs → `0.25`, 2,000,000 µs → `2`, 500 µs → `0.0005`.
 */
export function formatSeconds(micros: bigint): string {
  const scaled = micros < EXACT_FAST_PATH_MICROS ? micros : roundedMicrosOfDouble(Number(micros) / 1e6);
  const whole = scaled / 1_000_000n;
  const fraction = (scaled % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`;
}

/**
 * round-half-even(x × 10^6) for a finite double x ≥ 0, computed exactly from its binary form. Used
 * where the double is too coarse to give back whole µs (above 2^33 s), so that even those digits are
 * the crate's; `Number#toFixed` would round ties up, not to even.
 */
function roundedMicrosOfDouble(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  if (exponentBits !== 0) mantissa |= 1n << 52n;
  const exponent = (exponentBits === 0 ? 1 : exponentBits) - 1075; // x = mantissa × 2^exponent
  if (exponent >= 0) return (mantissa << BigInt(exponent)) * 1_000_000n;
  const numerator = mantissa * 1_000_000n;
  const denominator = 1n << BigInt(-exponent);
  const quotient = numerator / denominator;
  const twiceRemainder = (numerator % denominator) * 2n;
  const roundUp = twiceRemainder > denominator || (twiceRemainder === denominator && (quotient & 1n) === 1n);
  return roundUp ? quotient + 1n : quotient;
}

/** The name shown on a family's HELP and TYPE lines: OpenMetrics names a counter family without `_total`. */
function familyName(name: string, flavour: TextFlavour): string {
  return flavour === "openmetrics" ? name.replace(/_total$/, "") : name;
}

/**
 * Renders rows (already sorted) as exposition text: the lag gauge's HELP and TYPE, a line per observed
 * lag (leader before replica, unobserved ones omitted), then each counter family's HELP, TYPE and one
 * line per channel. Every line ends with `\n`; the headers are there even without channels.
 */
export function renderReplicationText(rows: readonly ChannelMetrics[], flavour: TextFlavour): string {
  const labels = rows.map((row) => escapeLabelValue(row.channel));
  let out = `# HELP ${LAG_METRIC} ${LAG_HELP}\n# TYPE ${LAG_METRIC} gauge\n`;
  rows.forEach((row, i) => {
    if (row.leaderLagMicros !== undefined) {
      out += `${LAG_METRIC}{channel="${labels[i]}",role="leader"} ${formatSeconds(row.leaderLagMicros)}\n`;
    }
    if (row.replicaLagMicros !== undefined) {
      out += `${LAG_METRIC}{channel="${labels[i]}",role="replica"} ${formatSeconds(row.replicaLagMicros)}\n`;
    }
  });
  for (const family of COUNTER_FAMILIES) {
    const shown = familyName(family.name, flavour);
    out += `# HELP ${shown} ${family.help}\n# TYPE ${shown} counter\n`;
    rows.forEach((row, i) => {
      out += `${family.name}{channel="${labels[i]}"} ${String(row[family.field])}\n`;
    });
  }
  return out;
}
