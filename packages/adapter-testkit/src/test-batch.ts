import { randomBytes } from "node:crypto";
import { type Batch, type BatchBytes, encodeBatchTexts, formatMessageId } from "@netmesh/core/adapter";

/** One event as the suite expects to read it back. */
export interface ExpectedEvent {
  /** The shard it was written to. */
  readonly shard: number;
  /** The JSON text written, to be read back `===`. */
  readonly json: string;
  /** The timestamp written (µs since the epoch). */
  readonly timestamp: number;
  /** Its message id; a `StoredEvent.messageId`, when present, must equal it. */
  readonly messageId: string;
}

/**
 * A {@link Batch} built by the suite, shaped exactly like the bus's: message ids computed from
 * producer, shard and `firstSequence + index`. Its arrays are mutable on purpose, so the suite can
 * check that an adapter copies what it keeps (contract rule 8).
 */
export class TestBatch implements Batch {
  constructor(
    /** The shard the events are for. */
    readonly shard: number,
    /** The producer nonce (16 lowercase hex digits, not all zeros). */
    readonly producer: string,
    /** Sequence number of `events[0]` within (producer, shard). */
    readonly firstSequence: number,
    /** The events' JSON texts. */
    readonly events: string[],
    /** Insertion timestamps, µs since the epoch, one per event. */
    readonly timestamps: Float64Array,
  ) {}

  /** Number of events. */
  get size(): number {
    return this.events.length;
  }

  /**
   * The events' UTF-8 bytes, encoded on each call from the current texts (the suite mutates texts
   * after a write to check that adapters copy, so a cached encoding could hide that).
   */
  bytes(): BatchBytes {
    return encodeBatchTexts(this.events);
  }

  /** The dedup id of `events[index]`, as the bus computes it. */
  messageId(index: number): string {
    return formatMessageId(this.producer, this.shard, this.firstSequence + index);
  }

  /** The events as they must be read back (copied now, before anyone can mutate the batch). */
  expected(): ExpectedEvent[] {
    return this.events.map((json, i) => ({
      shard: this.shard,
      json,
      timestamp: this.timestamps[i]!,
      messageId: this.messageId(i),
    }));
  }
}

/** A random producer nonce: 16 lowercase hex digits, never all zeros (as the bus draws them). */
export function randomProducer(): string {
  for (;;) {
    const hex = randomBytes(8).toString("hex");
    if (hex !== "0000000000000000") return hex;
  }
}

/**
 * Last timestamp handed out by any producer. Kept process-wide so timestamps increase strictly within
 * every shard even when two producers share one (the bus guarantees it per bus; a case with two
 * producers must not break what a single bus would never break).
 */
let lastTimestamp = 0;

/**
 * Makes batches the way one bus would: per shard, sequences are gap-free and in order, and timestamps
 * (µs since the epoch) strictly increase. Adapters that dedup by a per-producer high-water mark rely on
 * exactly these guarantees, so the suite never breaks them.
 */
export class TestProducer {
  /** The producer nonce of every batch made here. */
  readonly producer: string;
  private readonly nextSequence = new Map<number, number>();

  /** @param producer the nonce; default: a random one (see {@link randomProducer}). */
  constructor(producer: string = randomProducer()) {
    this.producer = producer;
  }

  /** The next batch of `shard`, carrying `events` (copied). */
  batch(shard: number, events: readonly string[]): TestBatch {
    const firstSequence = this.nextSequence.get(shard) ?? 0;
    this.nextSequence.set(shard, firstSequence + events.length);
    const timestamps = new Float64Array(events.length);
    const now = Date.now() * 1000;
    for (let i = 0; i < events.length; i++) {
      lastTimestamp = Math.max(lastTimestamp + 1, now);
      timestamps[i] = lastTimestamp;
    }
    return new TestBatch(shard, this.producer, firstSequence, [...events], timestamps);
  }
}
