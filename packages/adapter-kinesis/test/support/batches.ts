import { randomBytes } from "node:crypto";
import { type Batch, type BatchBytes, encodeBatchTexts, formatMessageId } from "@netmesh/core/adapter";

let lastTimestamp = 0;

/** A bus-shaped batch: gap-free sequences from `firstSequence`, increasing µs timestamps. */
export class TestBatch implements Batch {
  private encoded: BatchBytes | undefined;
  readonly timestamps: Float64Array;

  constructor(
    readonly shard: number,
    readonly producer: string,
    readonly firstSequence: number,
    readonly events: string[],
  ) {
    this.timestamps = new Float64Array(events.length);
    const now = Date.now() * 1000;
    for (let i = 0; i < events.length; i++) {
      lastTimestamp = Math.max(lastTimestamp + 1, now);
      this.timestamps[i] = lastTimestamp;
    }
  }

  get size(): number {
    return this.events.length;
  }

  messageId(index: number): string {
    return formatMessageId(this.producer, this.shard, this.firstSequence + index);
  }

  bytes(): BatchBytes {
    this.encoded ??= encodeBatchTexts(this.events);
    return this.encoded;
  }
}

/** Makes consecutive batches per shard for one producer nonce. */
export class Producer {
  readonly nonce = randomBytes(8).toString("hex");
  private readonly next = new Map<number, number>();

  /** The next batch of `shard` carrying `events`. */
  batch(shard: number, events: readonly string[]): TestBatch {
    const first = this.next.get(shard) ?? 0;
    this.next.set(shard, first + events.length);
    return new TestBatch(shard, this.nonce, first, [...events]);
  }
}

/** `count` small distinct events tagged `tag`. */
export function events(tag: string, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `{"tag":"${tag}","i":${from + i}}`);
}

/** A live signal, as the bus passes to onBatch. */
export function live(): AbortSignal {
  return new AbortController().signal;
}
