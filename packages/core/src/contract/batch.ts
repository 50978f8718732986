/**
 * The UTF-8 bytes of a batch's events: one contiguous buffer and `size + 1` offsets, so event `i` is
 * `data.subarray(offsets[i], offsets[i + 1])`. Adapters that write bytes (sockets, record data) use
 * this instead of encoding every text again.
 */
export interface BatchBytes {
  /** The events' UTF-8 bytes, back to back, with nothing between them. Read it; never write into it. */
  readonly data: Uint8Array;
  /** Start of each event in {@link BatchBytes.data}, plus the end of the last one. */
  readonly offsets: Uint32Array;
  /**
   * Indices (ascending) of the events whose text holds a lone surrogate, which UTF-8 cannot carry:
   * their bytes have U+FFFD in its place, so they would not read back as written. Report them as
   * `invalidText` (see {@link EventRejection}) if your backend stores bytes. Always empty in the bus's
   * batches, which never carry such an event (ingest refuses it with status `"invalidText"`); a batch
   * built elsewhere (the testkit's) may list some.
   */
  readonly replaced: readonly number[];
}

/**
 * A batch of events for one shard, handed to {@link Adapter.onBatch}. Events are in ingestion order.
 *
 * Every event has a sequence number, `firstSequence + index`, that is gap-free per (producer, shard):
 * the next batch of the shard starts where this one ends, also when a batch is retried or dropped.
 * A retry hands over the very same batch object, so message ids are stable across retries.
 *
 * Read the events either as bytes ({@link Batch.bytes}) or as text ({@link Batch.events}), and declare
 * which in `capabilities.payload`: the bus holds queued events that way. For `"bytes"` they are UTF-8,
 * written once at ingest, so `bytes()` costs nothing and `events` is decoded on first access; for
 * `"text"` they are the JSON strings, so `events` costs nothing and `bytes()` encodes on first access.
 * Either is computed once per batch. Call the one you declared and do not convert again.
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
  /** The events' JSON texts, exactly as ingested (for a `"bytes"` adapter, decoded on first access). */
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
   * The events as UTF-8 bytes: for a `"bytes"` adapter a view of the shard's byte slab, valid only
   * until `onBatch` settles (an abandoned attempt included: the bus reuses the memory once every call
   * has settled); encoded on first access for a `"text"` one. Copy what you keep (rule 8). Decoding event `i` gives `events[i]` exactly,
   * except for the events listed in {@link BatchBytes.replaced}.
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
 * strings (the testkit's, an adapter's own). Lone surrogates become U+FFFD, as in every UTF-8 encoder,
 * and their events are listed in `replaced`.
 */
export function encodeBatchTexts(texts: readonly string[]): BatchBytes {
  const offsets = new Uint32Array(texts.length + 1);
  const replaced: number[] = [];
  let total = 0;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    const length = Buffer.byteLength(text, "utf8");
    // Only a text that is not pure ASCII can hold a surrogate; isWellFormed is a native scan.
    if (length !== text.length && !(text as unknown as WellFormed).isWellFormed()) replaced.push(i);
    total += length;
    offsets[i + 1] = total;
  }
  const data = Buffer.allocUnsafe(total);
  for (let i = 0; i < texts.length; i++) data.write(texts[i]!, offsets[i]!, "utf8");
  return { data, offsets, replaced };
}

/** `String.prototype.isWellFormed` (Node 20; not yet in the ES2022 lib this package compiles against). */
interface WellFormed {
  isWellFormed(): boolean;
}
