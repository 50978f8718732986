import { parseSequence } from "./cursor.js";

/** What the `$JS.ACK…` reply subject of a delivered message says about it. */
export interface Delivery {
  readonly consumer: string;
  /** The stream sequence, as the server's decimal digits (never rounded). */
  readonly streamSequence: string;
  /** The consumer's delivery sequence: 1, 2, 3, … without gaps for one consumer. */
  readonly consumerSequence: number;
  /** Messages left for the consumer after this one. */
  readonly pending: number;
}

/**
 * Parses a delivered message's reply subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.
 * <time>.<pending>` (9 tokens), or the newer form with a domain and an account hash after `ACK` (11 or
 * 12 tokens). `undefined` for anything else.
 */
export function parseDelivery(reply: string | undefined): Delivery | undefined {
  const scratch: MutableDelivery = { consumer: "", streamSequence: "", consumerSequence: 0, pending: 0 };
  return parseDeliveryInto(reply, scratch) ? scratch : undefined;
}

/** A {@link Delivery} the mux fills for each delivered message (one object, reused). */
export interface MutableDelivery {
  consumer: string;
  streamSequence: string;
  consumerSequence: number;
  pending: number;
}

/**
 * {@link parseDelivery} into `into` (true when `reply` is a delivery's): the mux reads every message a
 * consumer delivers through one reused object, which its handler reads before the next message.
 */
export function parseDeliveryInto(reply: string | undefined, into: MutableDelivery): boolean {
  if (reply === undefined || !reply.startsWith(ACK_PREFIX)) return false;
  // The dots' positions, without splitting: this runs once per message a consumer delivers.
  let count = 0;
  for (let i = reply.indexOf(".", ACK_PREFIX.length); i !== -1; i = reply.indexOf(".", i + 1)) {
    if (count === DOTS.length) return false;
    DOTS[count++] = i;
  }
  const tokens = count + 3; // "$JS", "ACK" and one more after each dot past "ACK."
  const base = tokens === 9 ? 2 : tokens === 11 || tokens === 12 ? 4 : -1;
  if (base === -1) return false;
  // Token k (k >= 3) lies between dot k-3 and dot k-2 (or the end); every token read here has k >= 3.
  const consumer = reply.slice(DOTS[base - 2]! + 1, DOTS[base - 1]!);
  const streamSequence = reply.slice(DOTS[base]! + 1, DOTS[base + 1]!);
  const consumerSequence = digitsValue(reply, DOTS[base + 1]! + 1, DOTS[base + 2]!);
  const pending = digitsValue(reply, DOTS[base + 3]! + 1, base + 4 < count ? DOTS[base + 4]! : reply.length);
  if (!isSequenceText(streamSequence) || consumerSequence === undefined || pending === undefined) {
    return false;
  }
  into.consumer = consumer;
  into.streamSequence = streamSequence;
  into.consumerSequence = consumerSequence;
  into.pending = pending;
  return true;
}

const ACK_PREFIX = "$JS.ACK.";
/** Scratch space for the positions of the dots after `$JS.ACK.` (at most 10 in the longest form). */
const DOTS = new Int32Array(10);

/** The safe integer written in `text[start, end)` as plain decimal digits, else `undefined`. */
function digitsValue(text: string, start: number, end: number): number | undefined {
  if (end <= start || end - start > 16) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    value = value * 10 + (c - 0x30);
  }
  return Number.isSafeInteger(value) ? value : undefined;
}

/** A u64 in decimal without sign or leading zeros (what `parseSequence` accepts), checked by hand. */
function isSequenceText(text: string): boolean {
  const n = text.length;
  if (n === 0 || n > 20 || (n > 1 && text.charCodeAt(0) === 0x30)) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return n < 20 || parseSequence(text) !== undefined;
}
