/**
 * A batch of events for one shard, handed to {@link Adapter.onBatch}. Events are in ingestion order.
 *
 * Every event has a sequence number, `firstSequence + index`, that is gap-free per (producer, shard):
 * the next batch of the shard starts where this one ends, also when a batch is retried or dropped.
 * A retry hands over the very same batch object, so message ids are stable across retries.
 */
export interface Batch {
  /** The shard the events were routed to. */
  readonly shard: number;
  /** The producer nonce: 16 lowercase hex digits, never all zeros. Random per bus unless persisted. */
  readonly producer: string;
  /** Sequence number of `events[0]` within (producer, shard). */
  readonly firstSequence: number;
  /** The events' JSON texts, exactly as ingested. */
  readonly events: readonly string[];
  /**
   * Insertion timestamps, microseconds since the Unix epoch, strictly increasing within the shard for
   * this producer. Several producers writing one backend shard interleave, so never derive entry ids
   * from timestamps.
   */
  readonly timestamps: Float64Array;
  /** The dedup id of `events[index]`: see {@link formatMessageId}. */
  messageId(index: number): string;
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
