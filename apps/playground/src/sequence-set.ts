/** Widest span of sequence numbers kept as bits (32 MiB); anything further off goes to a plain Set. */
const MAX_BITS = 2 ** 28;

/**
 * A set of non-negative integers that are mostly dense and increasing: the sequence numbers of one
 * (producer, shard), which the bus hands out gap-free. Stored as a bitmap from the first number seen,
 * so a million-event shard costs 125 KB instead of the ~30 MB of a `Set<number>`; numbers outside the
 * bitmap's reach (below its start, or absurdly far ahead) fall back to a `Set`.
 */
export class SequenceSet {
  private bits = new Uint8Array(1024);
  private base: number | undefined;
  private readonly outliers = new Set<number>();

  /** Adds `n`; returns false when it was already present. */
  add(n: number): boolean {
    this.base ??= n;
    const offset = n - this.base;
    if (offset < 0 || offset >= MAX_BITS) {
      if (this.outliers.has(n)) return false;
      this.outliers.add(n);
      return true;
    }
    const byte = offset >>> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (offset & 7);
    if ((this.bits[byte]! & mask) !== 0) return false;
    this.bits[byte]! |= mask;
    return true;
  }
}
