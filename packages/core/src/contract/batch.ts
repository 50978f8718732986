/**
 * The UTF-8 bytes of a batch's events: one contiguous buffer and `size + 1` offsets, so event `i` is
 * `data.subarray(offsets[i], offsets[i + 1])`. Adapters that write bytes (sockets, record data) use
 * this instead of encoding every text again.
 */
export interface BatchBytes {
  /** The events' UTF-8 bytes, back to back, with nothing between them. */
  readonly data: Uint8Array;
  /** Start of each event in {@link BatchBytes.data}, plus the end of the last one. */
  readonly offsets: Uint32Array;
}

/**
 * A batch of events for one shard, handed to {@link Adapter.onBatch}. Events are in ingestion order.
 *
 * Every event has a sequence number, `firstSequence + index`, that is gap-free per (producer, shard):
 * the next batch of the shard starts where this one ends, also when a batch is retried or dropped.
 * A retry hands over the very same batch object, so message ids are stable across retries.
 *
 * Read the events either as text ({@link Batch.events}) or as bytes ({@link Batch.bytes}); both are
 * produced at most once per batch, so call whichever your backend wants and do not convert again.
 */
export interface Batch {
  /** The shard the events were routed to. */
  readonly shard: number;
  /** The producer nonce: 16 lowercase hex digits, never all zeros. Random per bus unless persisted. */
  readonly producer: string;
  /** Sequence number of `events[0]` within (producer, shard). */
  readonly firstSequence: number;
  /** Number of events in the batch. */
  readonly size: number;
  /** The events' JSON texts, exactly as ingested. */
  readonly events: readonly string[];
  /**
   * Insertion timestamps, integer microseconds since the Unix epoch, strictly increasing within the
   * shard for this producer. Several producers writing one backend shard interleave, so never derive
   * entry ids from timestamps.
   */
  readonly timestamps: Float64Array;
  /** The dedup id of `events[index]`: see {@link formatMessageId}. */
  messageId(index: number): string;
  /**
   * The events as UTF-8 bytes. A text holding a lone surrogate (which UTF-8 cannot carry) has it
   * replaced by U+FFFD here; report such an event as `invalidText` (see {@link EventRejection}) if
   * your backend must store it byte-exact. Computed on first call, then cached.
   */
  bytes(): BatchBytes;
}

/**
 * Why an adapter refused one event of a batch (see {@link BatchResult}).
 * - `tooLarge`: larger than the backend can store (its payload or record limit).
 * - `invalidText`: the text cannot be stored exactly (a lone surrogate, for a backend of UTF-8 bytes).
 * - `refused`: the backend refused this event alone for another reason that retrying cannot fix.
 */
export type EventRejectionReason = "tooLarge" | "invalidText" | "refused";

/** One refused event of a batch. */
export interface EventRejection {
  /** Index of the event in the batch (0-based). */
  readonly index: number;
  /** Why it was refused. */
  readonly reason: EventRejectionReason;
  /** A short explanation for logs (never the event itself, never a secret). */
  readonly message?: string;
}

/**
 * What {@link Adapter.onBatch} may resolve with. Resolving with nothing (`undefined`) means every event
 * was stored. Resolving with `{ rejected }` means every event *not* listed was stored, in batch order,
 * and the listed ones were not and never will be: the bus counts each as dropped with its reason and
 * does not retry them. Indices are integers in `[0, size)`, each listed at most once, ascending.
 */
export interface BatchResult {
  /** The refused events; empty or absent when everything was stored. */
  readonly rejected?: readonly EventRejection[];
}

/**
 * The message id of one event, used by adapters for dedup: `"{producer}:{shard}:{sequence}"`, for
 * example `"9f86d081884c7d65:3:2005"`. It depends only on the producer, the shard and the event's
 * sequence number, never on how events were grouped into batches.
 */
export function formatMessageId(producer: string, shard: number, sequence: number): string {
  return `${producer}:${shard}:${sequence}`;
}

/** The parts of a message id, as returned by {@link parseMessageId}. */
export interface MessageIdParts {
  readonly producer: string;
  readonly shard: number;
  readonly sequence: number;
}

const MESSAGE_ID = /^([0-9a-f]{16}):(0|[1-9]\d{0,4}):(0|[1-9]\d{0,15})$/;

/** Splits a message id made by {@link formatMessageId}; `undefined` when it is not one. */
export function parseMessageId(id: string): MessageIdParts | undefined {
  const match = MESSAGE_ID.exec(id);
  if (!match) return undefined;
  const shard = Number(match[2]);
  const sequence = Number(match[3]);
  if (shard > 0xfffe || !Number.isSafeInteger(sequence)) return undefined;
  return { producer: match[1]!, shard, sequence };
}

/**
 * Encodes texts as one {@link BatchBytes}: the helper behind {@link Batch.bytes} for any batch held as
 * strings (the bus's, the testkit's). Lone surrogates become U+FFFD, as in every UTF-8 encoder.
 */
export function encodeBatchTexts(texts: readonly string[]): BatchBytes {
  const offsets = new Uint32Array(texts.length + 1);
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    total += Buffer.byteLength(texts[i]!, "utf8");
    offsets[i + 1] = total;
  }
  const data = Buffer.allocUnsafe(total);
  for (let i = 0; i < texts.length; i++) data.write(texts[i]!, offsets[i]!, "utf8");
  return { data, offsets };
}
