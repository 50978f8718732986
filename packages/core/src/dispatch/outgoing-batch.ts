import { type Batch, type BatchBytes, encodeBatchTexts, formatMessageId } from "../contract/batch.js";

/**
 * The bus's implementation of {@link Batch}: message ids are computed on demand, never per event up
 * front, and the bytes are encoded only if an adapter asks for them (once, whatever the retries).
 */
export class OutgoingBatch implements Batch {
  private encoded: BatchBytes | undefined;

  constructor(
    readonly shard: number,
    readonly producer: string,
    readonly firstSequence: number,
    readonly events: readonly string[],
    readonly timestamps: Float64Array,
  ) {}

  get size(): number {
    return this.events.length;
  }

  /** UTF-8 bytes of the batch when an adapter already asked for them (free to read), else undefined. */
  get encodedLength(): number | undefined {
    return this.encoded?.data.length;
  }

  messageId(index: number): string {
    return formatMessageId(this.producer, this.shard, this.firstSequence + index);
  }

  bytes(): BatchBytes {
    this.encoded ??= encodeBatchTexts(this.events);
    return this.encoded;
  }
}
