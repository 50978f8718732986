import type { PreparedEvent } from "../ingest/prepared-event.js";
import type { SlabChunk } from "./slab-chunk.js";

/** An event as a ring takes it: its JSON text, or a prepared event (text and bytes). */
export type EventSource = string | PreparedEvent;

/**
 * The events of one batch taken off a slab ring: contiguous UTF-8 bytes in one slab chunk, their
 * offsets and timestamps. The bytes are a view of the slab: they stay valid until the ring's `release`.
 */
export interface SlabRun {
  readonly kind: "slab";
  readonly chunk: SlabChunk;
  /** The events' bytes, back to back (a view of the chunk). */
  readonly data: Buffer;
  /** `size + 1` offsets into {@link SlabRun.data}. */
  readonly offsets: Uint32Array;
  readonly timestamps: Float64Array;
}

/** The events of one batch that a slab ring queued as prepared events (by reference). */
export interface PreparedRun {
  readonly kind: "prepared";
  readonly prepared: readonly PreparedEvent[];
  /** UTF-8 bytes of the events, in all. */
  readonly bytes: number;
  readonly timestamps: Float64Array;
}

/** The events of one batch taken off a text ring: the JSON strings themselves. */
export interface TextRun {
  readonly kind: "text";
  readonly texts: string[];
  readonly timestamps: Float64Array;
}

/** A run of events taken for one batch. */
export type TakenRun = SlabRun | PreparedRun | TextRun;

/**
 * The FIFO of a shard's pending events, bounded in events (`capacity`) and in size (`byteCapacity`),
 * in one of two representations chosen by what the adapter reads (`capabilities.payload`):
 * - {@link SlabRing} (`"bytes"`): each event is written once as UTF-8 into a byte slab outside the JS
 *   heap; sizes are UTF-8 bytes.
 * - {@link TextRing} (`"text"`): the JSON strings are queued by reference, never encoded; sizes are
 *   UTF-16 code units (the UTF-8 size for ASCII text).
 *
 * Writing is two steps: {@link ShardRing.stage} measures (and for a slab, writes) the event, and
 * {@link ShardRing.commit} queues it once backpressure let it in; an event staged and then refused
 * leaves nothing behind (the next stage overwrites it). Single-threaded by construction: only the
 * bus pushes and only the shard's pump takes.
 */
export interface ShardRing {
  /** The bound in events (`ringCapacity`). */
  readonly capacity: number;
  /** The bound in size (`ringBytes`): UTF-8 bytes for a slab ring, UTF-16 code units for a text ring. */
  readonly byteCapacity: number;
  /** Events waiting in the ring. */
  readonly length: number;
  /** Size of the events waiting in the ring, in the ring's unit (see {@link byteCapacity}). */
  readonly bytes: number;
  /** How this ring measures an event's size: `"utf8"` bytes or UTF-16 `"units"`. */
  readonly unit: "utf8" | "units";
  /** Whether an event of `size` can be queued now without going over either bound. */
  hasRoom(size: number): boolean;
  /**
   * Prepares `event` for {@link commit} and returns its size. A text must be well-formed UTF-16 for a
   * slab ring and fit `byteCapacity` (the ingest path checks both first).
   */
  stage(event: EventSource): number;
  /** Queues the staged event of `size`. The caller has checked {@link hasRoom}. */
  commit(size: number, timestamp: number): void;
  /** Discards the oldest event; false when the ring is empty. A staged event is left intact. */
  evictOldest(): boolean;
  /** Timestamp of the oldest event (undefined when empty). */
  oldestTimestamp(): number | undefined;
  /** Removes up to `count` oldest events as one run (a slab ring may return fewer); undefined when empty. */
  take(count: number): TakenRun | undefined;
  /** Called once nothing (no adapter call, not even an abandoned one) reads a taken run any more. */
  release(run: TakenRun): void;
  /** Removes every queued event and returns how many there were. */
  clear(): number;
}
