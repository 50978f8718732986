import type { Batch, BatchBytes, EventRejection } from "@netmesh/core/adapter";

/** Size of the buffers header blocks are written into. */
const SLAB_BYTES = 256 * 1024;
/** Texts longer than this go into a buffer of their own. */
const LARGE_TEXT_BYTES = SLAB_BYTES / 4;

/** What one batch publishes: its UTF-8 bytes, and which of its events go out. */
export interface PreparedBatch {
  /** The batch's bytes (`batch.bytes()`, encoded once by the bus): payload `i` is a view into them. */
  readonly bytes: BatchBytes;
  /**
   * Batch indices of the events to publish, ascending; `undefined` when every event goes out (the
   * common case, with no array built).
   */
  readonly order: number[] | undefined;
  /** How many events are published. */
  readonly count: number;
  /** The events refused, ascending by index (rule 2): they are not published. */
  readonly rejected: EventRejection[];
  /** The most bytes of an event published: the `maxEventBytes` the batch was prepared for. */
  readonly limit: number;
}

function tooLarge(index: number, length: number, maxEventBytes: number): EventRejection {
  return {
    index,
    reason: "tooLarge",
    message: `${length} bytes; this server stores events of at most ${maxEventBytes}`,
  };
}

/**
 * Sorts a batch's events into those to publish and those refused on their own (contract rule 2), using
 * the batch's bytes instead of encoding the texts again:
 *
 * - `tooLarge`: more UTF-8 bytes than `maxEventBytes` (the declared limit, which leaves room for the
 *   headers within the server's `max_payload`).
 * - `invalidText`: a lone surrogate, which UTF-8 cannot carry (`batch.bytes()` holds U+FFFD in its
 *   place and lists the event in `replaced`, so the event would not read back as written). The texts
 *   are never read: the bus's batches hold bytes, and decoding them would be wasted work.
 */
export function prepareBatch(batch: Batch, maxEventBytes: number): PreparedBatch {
  const bytes = batch.bytes();
  const { offsets, replaced } = bytes;
  const size = batch.size;
  const rejected: EventRejection[] = [];
  let nextReplaced = 0;
  for (let i = 0; i < size; i++) {
    const length = offsets[i + 1]! - offsets[i]!;
    const isReplaced = replaced[nextReplaced] === i;
    if (isReplaced) nextReplaced++;
    if (length > maxEventBytes) {
      rejected.push(tooLarge(i, length, maxEventBytes));
    } else if (isReplaced) {
      rejected.push({
        index: i,
        reason: "invalidText",
        message: "a lone surrogate, which UTF-8 (a NATS payload) cannot carry",
      });
    }
  }
  if (rejected.length === 0) {
    return { bytes, order: undefined, count: size, rejected, limit: maxEventBytes };
  }
  const order: number[] = [];
  let next = 0;
  for (const { index } of rejected) {
    for (; next < index; next++) order.push(next);
    next = index + 1;
  }
  for (; next < size; next++) order.push(next);
  return { bytes, order, count: order.length, rejected, limit: maxEventBytes };
}

/**
 * `prepared` for a server that takes events of at most `maxEventBytes`, smaller than the limit it was
 * prepared for (a reconnect landed on another server): the events not published yet (positions
 * `from` on) that no longer fit are refused as `tooLarge` too, each on its own, and leave the order.
 * Positions before `from` keep their events, so a write goes on at `from`. Runs once per window, not
 * per event, and only when the limit shrank.
 */
export function narrowBatch(prepared: PreparedBatch, from: number, maxEventBytes: number): PreparedBatch {
  const { offsets } = prepared.bytes;
  const order: number[] = [];
  const refused: EventRejection[] = [];
  for (let k = 0; k < prepared.count; k++) {
    const i = prepared.order === undefined ? k : prepared.order[k]!;
    const length = offsets[i + 1]! - offsets[i]!;
    if (k >= from && length > maxEventBytes) refused.push(tooLarge(i, length, maxEventBytes));
    else order.push(i);
  }
  if (refused.length === 0) return { ...prepared, limit: maxEventBytes };
  const rejected = [...prepared.rejected, ...refused].sort((a, b) => a.index - b.index);
  return { bytes: prepared.bytes, order, count: order.length, rejected, limit: maxEventBytes };
}

/**
 * Writes ASCII texts (header blocks) into shared slabs: one allocation per 256 KiB instead of one per
 * message, and `Buffer.write` into room already there rather than an allocating encode. A slab is
 * never written twice: the client keeps references to the bytes until they are on the socket, so each
 * block owns its region, and a slab is garbage once its messages are sent.
 */
export class PayloadEncoder {
  private slab: Buffer = Buffer.allocUnsafe(0);
  private offset = 0;

  /** The bytes of a text known to be ASCII (a header block). */
  ascii(text: string): Buffer {
    const length = text.length;
    if (length > LARGE_TEXT_BYTES) return Buffer.from(text, "latin1");
    if (this.slab.length - this.offset < length) {
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.offset = 0;
    }
    const start = this.offset;
    this.offset += this.slab.write(text, start, "latin1");
    return this.slab.subarray(start, this.offset);
  }
}
