/**
 * Unsigned 64-bit arithmetic on bigints. The crate keeps every counter and lag as a `u64`; a JS number
 * is exact only up to 2^53, so the registry holds them as bigints and never lets them leave
 * [0, 2^64 − 1].
 */

/** The largest u64: 2^64 − 1. Counters stop (saturate) here instead of wrapping to 0. */
export const U64_MAX: bigint = (1n << 64n) - 1n;

/**
 * The largest lag the registry stores, in µs: 2^64 − 2. The crate keeps `u64::MAX` as its
 * "not yet observed" sentinel and clamps an observation one below it, so a saturated lag is still an
 * observation; this keeps the same value, so the text output of a saturated lag is the crate's.
 */
export const LAG_SATURATED_MICROS: bigint = U64_MAX - 1n;

/** 2^64 as a double: the first number past every u64. */
const TWO_POW_64 = 2 ** 64;

/** `a + b` for u64 values, stopping at {@link U64_MAX}. */
export function saturatingAdd(a: bigint, b: bigint): bigint {
  const sum = a + b;
  return sum > U64_MAX ? U64_MAX : sum;
}

/**
 * A count to add to a counter, from whatever the caller passed: a non-negative integer as is, a
 * fraction truncated, a value above u64 saturated. Anything that cannot be a count (negative, NaN,
 * not a number) is 0: a counter never goes down, and recording never throws.
 */
export function toCount(n: number | bigint): bigint {
  if (typeof n === "bigint") {
    if (n <= 0n) return 0n;
    return n > U64_MAX ? U64_MAX : n;
  }
  if (typeof n !== "number" || Number.isNaN(n) || n <= 0) return 0n;
  if (n >= TWO_POW_64) return U64_MAX; // +Infinity included
  return BigInt(Math.trunc(n));
}

/**
 * A duration in ms as whole µs, clamped to [0, {@link LAG_SATURATED_MICROS}]; `undefined` for NaN or a
 * non-number (nothing to record). The crate truncates to µs; here the value is first rounded to whole
 * nanoseconds, so float noise in `ms` (1.001 × 1000 = 1000.9999…) cannot cost a microsecond.
 */
export function millisToMicros(ms: number): bigint | undefined {
  if (typeof ms !== "number" || Number.isNaN(ms)) return undefined;
  if (ms <= 0) return 0n; // a negative lag is a clock step backwards, not a lead: no lag
  if (ms * 1_000 >= TWO_POW_64) return LAG_SATURATED_MICROS;
  const micros = BigInt(Math.round(ms * 1_000_000)) / 1_000n;
  return micros > LAG_SATURATED_MICROS ? LAG_SATURATED_MICROS : micros;
}
