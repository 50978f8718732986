/**
 * Where a bus shard lives in the stream's hash-key space (0 … 2^128 − 1). Every record of bus shard
 * `s` is written with the same `ExplicitHashKey`, so it lands in the one open Kinesis shard whose range
 * holds that key: one ordered sequence per bus shard, also across resharding (the key moves into
 * exactly one child of a split, or into the child of a merge).
 *
 * The key depends on the bus shard alone, never on the stream's current shard count, so every process
 * (and every later reshard) agrees where a bus shard is. It is the bit-reversal of the 16-bit shard id,
 * placed in the middle of its 1/65,536 slot: bus shards 0, 1, 2, 3 sit at 1/2^17, 1/2, 1/4, 3/4 of the
 * space, so with a power-of-two shard count N evenly split (as `CreateStream` does), bus shards
 * 0 … N − 1 fall into N different Kinesis shards, and later ones interleave evenly between them.
 */
const SLOT_BITS = 112n; // 128 - 16: one slot per 16-bit shard id
const HALF_SLOT = 1n << (SLOT_BITS - 1n);

function reverse16(value: number): number {
  let result = 0;
  for (let bit = 0; bit < 16; bit++) result |= ((value >>> bit) & 1) << (15 - bit);
  return result;
}

/** The hash key of bus shard `shard` (0 … 65,534), as a bigint. */
export function hashKeyOf(shard: number): bigint {
  return (BigInt(reverse16(shard)) << SLOT_BITS) + HALF_SLOT;
}

/** {@link hashKeyOf} as the decimal string `PutRecords` takes, memoised per shard. */
export class HashKeys {
  private readonly cache = new Map<number, string>();

  /** The `ExplicitHashKey` of `shard`. */
  of(shard: number): string {
    let key = this.cache.get(shard);
    if (key === undefined) {
      key = hashKeyOf(shard).toString();
      this.cache.set(shard, key);
    }
    return key;
  }
}
