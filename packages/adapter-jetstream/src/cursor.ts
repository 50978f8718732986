import { FatalError } from "@netmesh/core/adapter";

/** Largest JetStream sequence: sequences are unsigned 64-bit integers. */
export const MAX_SEQUENCE = (1n << 64n) - 1n;

/** A decimal sequence without sign or leading zeros, at most 20 digits (u64 has 20). */
const SEQUENCE_TEXT = /^(0|[1-9]\d{0,19})$/;

/**
 * The sequence a cursor names, as a bigint so sequences beyond 2^53 are never rounded; `0n` when there
 * is no cursor (JetStream sequences start at 1, so "after 0" is the start). A cursor this adapter never
 * hands out is a caller's mistake, rejected with a {@link FatalError} rather than silently read as the
 * start of the stream.
 */
export function parseCursor(afterId: string | undefined): bigint {
  if (afterId === undefined) return 0n;
  if (typeof afterId !== "string" || !SEQUENCE_TEXT.test(afterId)) {
    throw new FatalError(`invalid JetStream cursor ${JSON.stringify(afterId)}: expected a stream sequence`);
  }
  const sequence = BigInt(afterId);
  if (sequence > MAX_SEQUENCE) {
    throw new FatalError(`invalid JetStream cursor ${afterId}: beyond the largest sequence 2^64-1`);
  }
  return sequence;
}

/** A sequence read from a server header, or `undefined` when it is not one. */
export function parseSequence(text: string | undefined): bigint | undefined {
  if (text === undefined || !SEQUENCE_TEXT.test(text)) return undefined;
  const sequence = BigInt(text);
  return sequence > MAX_SEQUENCE ? undefined : sequence;
}

/**
 * True when sequence `a` comes after sequence `b`, both in the server's decimal digits (no sign, no
 * leading zeros): a longer text is a larger number, texts of one length compare as strings.
 */
export function isAfterSequence(a: string, b: string): boolean {
  return a.length > b.length || (a.length === b.length && a > b);
}
