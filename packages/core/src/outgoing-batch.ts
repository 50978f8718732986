import { type Batch, formatMessageId } from "./contract/batch.js";

/** The bus's implementation of {@link Batch}: message ids are computed on demand, never per event up front. */
export class OutgoingBatch implements Batch {
  constructor(
    readonly shard: number,
    readonly producer: string,
    readonly firstSequence: number,
    readonly events: readonly string[],
    readonly timestamps: Float64Array,
  ) {}

  messageId(index: number): string {
    return formatMessageId(this.producer, this.shard, this.firstSequence + index);
  }
}
