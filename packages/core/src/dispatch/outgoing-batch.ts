import { isAscii } from "node:buffer";
import { type Batch, type BatchBytes, encodeBatchTexts, formatMessageId } from "../contract/batch.js";
import type { PreparedEvent } from "../ingest/prepared-event.js";
import type { TakenRun } from "../shard/shard-ring.js";

const NONE: readonly number[] = Object.freeze([]);
const EMPTY = new Uint8Array(0);
const ZERO = new Uint32Array(1);

/**
 * The bus's implementation of {@link Batch}: its bytes are a view of the shard's slab (no encoding at
 * all), its texts are decoded only if an adapter asks for them (once, whatever the retries), and message
 * ids are computed on demand. It counts the adapter calls still running over it, so the shard reuses
 * the slab memory only when no call (not even one the bus stopped waiting for) can read it.
 */
export class OutgoingBatch implements Batch {
  private texts: readonly string[] | undefined;
  private encoded: BatchBytes | undefined;
  private prepared: readonly PreparedEvent[] | undefined;
  private totalBytes: number;
  private running = 0;
  private whenIdle: (() => void) | undefined;

  constructor(
    readonly shard: number,
    readonly producer: string,
    readonly firstSequence: number,
    data: Uint8Array,
    offsets: Uint32Array,
    readonly timestamps: Float64Array,
  ) {
    this.encoded = { data, offsets, replaced: NONE };
    this.totalBytes = data.length;
  }

  /**
   * The batch of a run taken off a shard's ring. A slab run's bytes are handed as they are (texts decoded
   * on demand); prepared events' and a text ring's texts as they are (bytes gathered or encoded on
   * demand).
   */
  static fromRun(shard: number, producer: string, firstSequence: number, run: TakenRun): OutgoingBatch {
    if (run.kind === "slab") {
      return new OutgoingBatch(shard, producer, firstSequence, run.data, run.offsets, run.timestamps);
    }
    const batch = new OutgoingBatch(shard, producer, firstSequence, EMPTY, ZERO, run.timestamps);
    batch.encoded = undefined;
    if (run.kind === "prepared") {
      batch.prepared = run.prepared;
      batch.totalBytes = run.bytes;
    } else {
      batch.texts = run.texts;
      batch.totalBytes = -1;
    }
    return batch;
  }

  /** A batch over texts (encoded now): for tests and tools; the bus builds batches from its slab. */
  static fromTexts(
    shard: number,
    producer: string,
    firstSequence: number,
    texts: readonly string[],
    timestamps: Float64Array,
  ): OutgoingBatch {
    const { data, offsets } = encodeBatchTexts(texts);
    const batch = new OutgoingBatch(shard, producer, firstSequence, data, offsets, timestamps);
    batch.texts = [...texts];
    return batch;
  }

  get size(): number {
    return this.timestamps.length;
  }

  /**
   * UTF-8 bytes of the whole batch: free to read, but for a text ring's batch whose bytes nobody asked
   * for, whose texts it counts once (a pass over the batch, no copy).
   */
  get byteLength(): number {
    if (this.totalBytes < 0) {
      if (this.encoded !== undefined) this.totalBytes = this.encoded.data.length;
      else {
        let total = 0;
        for (const text of this.texts!) total += Buffer.byteLength(text, "utf8");
        this.totalBytes = total;
      }
    }
    return this.totalBytes;
  }

  get events(): readonly string[] {
    this.texts ??= this.prepared?.map((event) => event.json) ?? decode(this.encoded!);
    return this.texts;
  }

  messageId(index: number): string {
    return formatMessageId(this.producer, this.shard, this.firstSequence + index);
  }

  bytes(): BatchBytes {
    if (this.encoded === undefined) {
      this.encoded =
        this.prepared !== undefined ? gather(this.prepared, this.totalBytes) : encodeBatchTexts(this.texts!);
    }
    return this.encoded;
  }

  /** An adapter call over this batch starts. */
  enter(): void {
    this.running++;
  }

  /** An adapter call over this batch settled (however late). */
  leave(): void {
    if (--this.running === 0 && this.whenIdle !== undefined) {
      const idle = this.whenIdle;
      this.whenIdle = undefined;
      idle();
    }
  }

  /** Calls `idle` once no adapter call over the batch is running: at once, or when the last settles. */
  onIdle(idle: () => void): void {
    if (this.running === 0) idle();
    else this.whenIdle = idle;
  }
}

/** The bytes of prepared events, copied back to back into one buffer (they are views of other buffers). */
function gather(prepared: readonly PreparedEvent[], total: number): BatchBytes {
  const data = Buffer.allocUnsafe(total);
  const offsets = new Uint32Array(prepared.length + 1);
  let at = 0;
  for (let i = 0; i < prepared.length; i++) {
    const { slab, offset, byteLength } = prepared[i]!;
    slab.copy(data, at, offset, offset + byteLength);
    at += byteLength;
    offsets[i + 1] = at;
  }
  return { data, offsets, replaced: NONE };
}

/**
 * The texts of a batch's bytes. An all-ASCII batch (the common case) is decoded in one call and cut
 * into substrings; otherwise each event is decoded on its own, since byte offsets are not char offsets.
 */
function decode({ data, offsets }: BatchBytes): string[] {
  const size = offsets.length - 1;
  const texts = new Array<string>(size);
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
  if (isAscii(buffer)) {
    const all = buffer.toString("latin1");
    for (let i = 0; i < size; i++) texts[i] = all.slice(offsets[i]!, offsets[i + 1]!);
  } else {
    for (let i = 0; i < size; i++) texts[i] = buffer.toString("utf8", offsets[i]!, offsets[i + 1]!);
  }
  return texts;
}
