const TWO_POW_MINUS_32 = 2 ** -32;

/**
 * Maps a 32-bit hash onto `[0, n)` by multiply-shift (Lemire's reduction): `floor(hash × n / 2^32)`.
 * Unbiased like a modulo but without a division; hash 0 maps to 0 and the result is always below `n`.
 * Any number is accepted as a hash: it is first truncated to an unsigned 32-bit integer.
 */
export function reduceHash(hash: number, n: number): number {
  return ((hash >>> 0) * n * TWO_POW_MINUS_32) | 0;
}
