import { BatchSizer } from "./batch-sizer.js";
import type { ResolvedConfig } from "../config.js";
import type { ShardRing } from "./shard-ring.js";
import { SlabRing } from "./slab-ring.js";
import { TextRing } from "./text-ring.js";
import type { ShardPump } from "./shard-pump.js";
import type { ShardState, ShardStats } from "../stats.js";

/**
 * One shard: its ring of pending events and its counters. The bus pushes on the ingest path; the
 * shard's pump (see `ShardPump`) takes batches off it. Fields are public for the two of them only.
 */
export class Shard {
  readonly ring: ShardRing;
  readonly sizer: BatchSizer;
  /** The pump that sends this shard's batches (set once the pump exists). */
  pump!: ShardPump;
  /** Lifecycle: routable only while `active`. */
  state: ShardState = "provisioning";
  /** When the shard became active (performance.now), for warm-up. */
  activatedAt = 0;
  /** Sum over dispatched batches of the mean time their events waited in the ring (ms × batches). */
  queueDelaySum = 0;
  /** Sum of the adapter's time per batch (ms), over `flushCount` batches (dispatched or not). */
  flushSum = 0;
  flushCount = 0;
  /** Last insertion timestamp handed out (µs since the epoch). */
  lastTimestamp = 0;
  /** Events ever accepted; also the acceptance index the next event gets. */
  accepted = 0;
  dispatched = 0;
  dropped = 0;
  batches = 0;
  /** Size of the batch being dispatched (0 when none). */
  inFlight = 0;
  /** Acceptance index of the first event of the batch being dispatched. */
  inFlightStart = 0;
  /** Insertion timestamp of the first event of the batch being dispatched. */
  inFlightSince = 0;
  /** The ring filled up and has not drained back below half since (for the backpressure diagnostics). */
  backpressured = false;
  /** Sequence number of the next batch's first event. */
  nextSequence: number;
  /** Ring length from which sampling applies (Infinity unless the sample mode is on). */
  readonly sampleFrom: number;
  /** Queued bytes from which sampling applies (Infinity unless the sample mode is on). */
  readonly sampleFromBytes: number;
  sampleCounter = 0;
  /**
   * Ring length at which a push must wake the pump: 1 while it idles on an empty ring, the batch
   * target while it waits for a batch to fill, Infinity while it is busy or already woken.
   */
  wakeAt = Number.POSITIVE_INFINITY;
  /** Queued bytes at which a push must wake the pump (half the byte bound while it waits for a batch to fill). */
  wakeBytes = Number.POSITIVE_INFINITY;
  /** Half the byte bound: queued bytes that make a batch leave without waiting for more events. */
  readonly wakeBytesAt: number;

  constructor(
    readonly id: number,
    config: ResolvedConfig,
    firstSequence: number,
    /** What the adapter reads (`capabilities.payload`): a slab ring for bytes, a text ring for texts. */
    payload: "bytes" | "text",
  ) {
    this.ring =
      payload === "bytes"
        ? new SlabRing(config.ringCapacity, config.ringBytes)
        : new TextRing(config.ringCapacity, config.ringBytes);
    this.wakeBytesAt = Math.ceil(config.ringBytes / 2);
    this.sizer = new BatchSizer(config.batch);
    this.nextSequence = firstSequence;
    const bp = config.backpressure;
    this.sampleFrom =
      bp.mode === "sample"
        ? Math.max(1, Math.ceil(config.ringCapacity * bp.threshold))
        : Number.POSITIVE_INFINITY;
    this.sampleFromBytes =
      bp.mode === "sample"
        ? Math.max(1, Math.ceil(config.ringBytes * bp.threshold))
        : Number.POSITIVE_INFINITY;
  }

  /** Accepted events not yet dispatched or dropped. */
  get pending(): number {
    return this.ring.length + this.inFlight;
  }

  /**
   * The earliest insertion timestamp an event of this shard that is not stored yet can carry, given
   * the clock reads `now` (µs; `Infinity` once no event is accepted any more): the oldest event in
   * flight, else the oldest queued one (a shard stamps its events in increasing order, and the ring
   * holds newer events than the batch in flight). With nothing pending, an event accepted from now on:
   * the ingest path reads the clock afresh for an event that finds its ring empty, and never stamps at
   * or below the shard's last timestamp.
   */
  unstoredFrom(now: number): number {
    if (this.inFlight > 0) return this.inFlightSince;
    return this.ring.oldestTimestamp() ?? Math.max(now, this.lastTimestamp + 1);
  }

  /**
   * Acceptance index of the oldest event that is neither dispatched nor dropped. The ring always holds
   * the newest accepted events, contiguously; an in-flight batch holds older ones. Evictions can settle
   * ring events before the in-flight batch, so settled events are not always a prefix.
   */
  get oldestUnsettled(): number {
    return this.inFlight > 0 ? this.inFlightStart : this.accepted - this.ring.length;
  }

  /** A snapshot of the counters. */
  stats(): ShardStats {
    return {
      id: this.id,
      state: this.state,
      ingested: this.accepted,
      dispatched: this.dispatched,
      dropped: this.dropped,
      batches: this.batches,
      queued: this.ring.length,
      bytesQueued: this.ring.bytes,
      inFlight: this.inFlight,
      capacity: this.ring.capacity,
      byteCapacity: this.ring.byteCapacity,
      fill: Math.max(this.ring.length / this.ring.capacity, this.ring.bytes / this.ring.byteCapacity),
      nextSequence: this.nextSequence,
    };
  }
}
