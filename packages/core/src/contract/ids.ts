/** How a backend's entry ids look; positions never move across a change of format. */
export type IdFormat = "redis" | "numeric" | "opaque";

const REDIS_ID = /^(\d+)-(\d+)$/;
const NUMERIC_ID = /^\d+$/;

/** The format of an entry id: Redis `ms-seq`, a decimal number (JetStream, memory), or anything else. */
export function idFormat(id: string): IdFormat {
  if (REDIS_ID.test(id)) return "redis";
  if (NUMERIC_ID.test(id)) return "numeric";
  return "opaque";
}

/** Compares two unsigned decimal strings of any length by value (no rounding above 2^53). */
function compareDecimal(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, "");
  const y = b.replace(/^0+(?=\d)/, "");
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Orders two entry ids of one shard: Redis ids by (ms, seq), decimal ids by value (so "9" < "10"), other
 * ids as strings (ULIDs, UUIDv7 and hex sort that way). Ids of different formats compare as strings.
 */
export function compareIds(a: string, b: string): number {
  const ra = REDIS_ID.exec(a);
  const rb = REDIS_ID.exec(b);
  if (ra && rb) return compareDecimal(ra[1]!, rb[1]!) || compareDecimal(ra[2]!, rb[2]!);
  if (NUMERIC_ID.test(a) && NUMERIC_ID.test(b)) return compareDecimal(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}
