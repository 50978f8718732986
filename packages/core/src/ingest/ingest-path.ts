import { publishBackpressure, publishDrop } from "../diagnostics/publish.js";
import { type CoarseClock, nextTimestamp } from "./clock.js";
import type { ResolvedConfig } from "../config.js";
import type { Shard } from "../shard/shard.js";
import type { DropCounts, IngestStatus, RejectCounts } from "../stats.js";
import type { Topology } from "../shard/topology.js";
import type { EventSource } from "../shard/shard-ring.js";
import type { EventColumns } from "./event-columns.js";

/**
 * The ingest hot path: route an event, apply sampling and backpressure, write its bytes into the
 * shard's slab, stamp it, push it, wake the pump. No allocation, promise, timer or clock read per event (the clock is read every 128 pushes).
 * Every refusal is counted here, so the bus's public calls only serialize and hash.
 */
export class IngestPath {
  /** Set by shutdown: from then on every offer is refused as `"closed"`. */
  closed = false;
  private readonly evictWhenFull: boolean;
  private readonly stopAtFirstRejection: boolean;
  private readonly sampleRate: number;
  /** The sample mode is on: only then are the sampling thresholds worth comparing. */
  private readonly sampling: boolean;
  /**
   * The largest event in UTF-8 bytes: the adapter's `maxEventBytes`, or the ring's `ringBytes` if
   * smaller when the rings count UTF-8 bytes.
   */
  private readonly maxBytes: number;
  /** The largest event in UTF-16 code units: `ringBytes` when the rings count units, else unbounded. */
  private readonly maxUnits: number;
  /** Texts up to this many UTF-16 units fit both limits for sure (at most 3 UTF-8 bytes per unit). */
  private readonly surelyFits: number;

  constructor(
    config: ResolvedConfig,
    private readonly topology: Topology,
    private readonly clock: CoarseClock,
    private readonly drops: DropCounts,
    private readonly rejects: RejectCounts,
    /** The adapter's `capabilities.maxEventBytes`: larger events are refused as `"tooLarge"`. */
    maxEventBytes: number,
    /** The bus's producer nonce, for diagnostics messages. */
    private readonly producer: string,
    /** How the rings hold events (`capabilities.payload`), which sets the unit of `ringBytes`. */
    payload: "bytes" | "text",
  ) {
    const slab = payload === "bytes";
    this.maxBytes = slab ? Math.min(maxEventBytes, config.ringBytes) : maxEventBytes;
    this.maxUnits = slab ? Number.POSITIVE_INFINITY : config.ringBytes;
    this.surelyFits = Math.min(Math.floor(this.maxBytes / 3), this.maxUnits);
    const bp = config.backpressure;
    this.evictWhenFull = bp.mode === "drop-oldest";
    this.stopAtFirstRejection = bp.mode === "fail-producer" || bp.mode === "block";
    this.sampleRate = bp.mode === "sample" ? bp.rate : 1;
    this.sampling = bp.mode === "sample";
  }

  /**
   * Offers one event; returns its status. `event` is its JSON text, or a prepared event, already
   * checked by `EventInput` (the bus refuses input that is not an event whether or not it is closed).
   * `untrusted`: a text from the caller, checked for lone surrogates (a `JSON.stringify` text has none).
   */
  offer(event: EventSource, hash: number, keyed: boolean, untrusted: boolean): IngestStatus {
    if (this.closed) return this.refuseClosed(1, "closed");
    return this.take(event, hash, keyed, untrusted);
  }

  /** {@link offer} once the bus is known to be open (a batch checks that once, not per event). */
  private take(event: EventSource, hash: number, keyed: boolean, untrusted: boolean): IngestStatus {
    const refusal = this.check(event, untrusted);
    if (refusal !== undefined) return refusal;
    const shard = this.destination(hash, keyed);
    if (shard === "unrouted") return shard;
    const status = this.admit(shard, event, this.evictWhenFull);
    if (status === "full") this.rejects.full++;
    return status;
  }

  /**
   * Offers events in order; returns how many were accepted. With fail-producer and block it stops at the
   * first event refused for any reason, so the accepted events are a prefix: a producer resuming from
   * `events[accepted]` neither skips nor repeats one (stopping only at `"full"` would make the count
   * the prefix's length only while nothing before it was refused as too large, invalid or unrouted).
   */
  offerAll(batch: EventColumns, untrusted: boolean): number {
    const { texts, hashes, keyed, count } = batch;
    try {
      if (this.closed) return this.refuseClosed(count, 0);
      let accepted = 0;
      for (let i = 0; i < count; i++) {
        const status = this.take(texts[i]!, hashes[i]!, keyed[i]!, untrusted);
        if (status === "accepted") accepted++;
        else if (this.stopAtFirstRejection) break;
      }
      return accepted;
    } finally {
      batch.done();
    }
  }

  /**
   * Offers one event, waiting for room while its ring is full. Routed again after each wait. It never
   * evicts, whatever the backpressure mode: a caller that asked to wait has room to wait for, and
   * evicting would drop someone else's event to spare this one a wait.
   */
  offerWaiting(event: EventSource, hash: number, keyed: boolean, untrusted: boolean): Promise<IngestStatus> {
    if (this.closed) return Promise.resolve(this.refuseClosed(1, "closed"));
    return this.takeWaiting(event, hash, keyed, untrusted);
  }

  /** {@link offerWaiting} once the bus is known to be open. */
  private async takeWaiting(
    event: EventSource,
    hash: number,
    keyed: boolean,
    untrusted: boolean,
  ): Promise<IngestStatus> {
    const refusal = this.check(event, untrusted);
    if (refusal !== undefined) return refusal;
    for (;;) {
      const shard = this.destination(hash, keyed);
      if (shard === "unrouted") return shard;
      const status = this.admit(shard, event, false);
      if (status !== "full") return status;
      await shard.pump.whenRoom();
      // Shutdown releases the waiters: they are refused, not admitted into rings being drained.
      if (this.closed) return this.refuseClosed(1, "closed");
    }
  }

  /** Offers events in order, waiting for room whenever a ring is full; resolves the accepted count. */
  async offerAllWaiting(batch: EventColumns, untrusted: boolean): Promise<number> {
    const { texts, hashes, keyed, count } = batch;
    try {
      let accepted = 0;
      for (let i = 0; i < count; i++) {
        if (this.closed) return this.refuseClosed(count - i, accepted);
        const status = await this.takeWaiting(texts[i]!, hashes[i]!, keyed[i]!, untrusted);
        if (status === "accepted") accepted++;
        else if (status === "closed") return this.refuseClosed(count - i - 1, accepted);
      }
      return accepted;
    } finally {
      batch.done();
    }
  }

  /** Counts `count` events refused because the bus is closed, and returns `result`. */
  refuseClosed<T>(count: number, result: T): T {
    this.rejects.closed += count;
    return result;
  }

  /** Refuses (and counts) an event that could never be stored: too large, or text UTF-8 cannot carry. */
  private check(event: EventSource, untrusted: boolean): "tooLarge" | "invalidText" | undefined {
    if (typeof event === "string") {
      if (event.length > this.surelyFits && this.tooLarge(event)) return "tooLarge";
      if (untrusted && !(event as unknown as WellFormed).isWellFormed()) {
        this.rejects.invalidText++;
        return "invalidText";
      }
    } else if (event.byteLength > this.maxBytes || event.units > this.maxUnits) {
      this.rejects.tooLarge++;
      return "tooLarge";
    }
    return undefined;
  }

  /** Counts and reports an event larger than the adapter or the ring stores; only called for long texts. */
  private tooLarge(json: string): boolean {
    const fits =
      json.length <= this.maxUnits &&
      json.length <= this.maxBytes &&
      (json.length * 3 <= this.maxBytes || Buffer.byteLength(json, "utf8") <= this.maxBytes);
    if (fits) return false;
    this.rejects.tooLarge++;
    return true;
  }

  /** The shard an event goes to, or `"unrouted"` (counted) when it cannot go anywhere. */
  private destination(hash: number, keyed: boolean): Shard | "unrouted" {
    const shard = this.topology.route(hash, keyed);
    if (shard !== undefined) return shard;
    this.rejects.unrouted++;
    return "unrouted";
  }

  /**
   * Sampling, backpressure, encoding into the shard's slab, timestamp, push, wake. Counts every outcome
   * but `"full"`. The ring is full at either bound: `ringCapacity` events or `ringBytes` bytes.
   * `evict`: make room by evicting the oldest events (drop-oldest), or else return `"full"`.
   */
  private admit(shard: Shard, event: EventSource, evict: boolean): IngestStatus {
    const ring = shard.ring;
    if (ring.length === 0) this.clock.refresh();
    else this.clock.tick();
    if (this.sampling && (ring.length >= shard.sampleFrom || ring.bytes >= shard.sampleFromBytes)) {
      if (++shard.sampleCounter < this.sampleRate) {
        this.rejects.sampled++;
        return "sampled";
      }
      shard.sampleCounter = 0;
    }
    // A slab ring writes the bytes once, here (a refused event's are overwritten by the next one); a
    // prepared event was encoded by prepare() and is queued by reference, as is any text in a text ring.
    const length = ring.stage(event);
    if (!ring.hasRoom(length)) {
      if (!shard.backpressured) {
        shard.backpressured = true;
        publishBackpressure(this.producer, shard, "engaged");
      }
      if (!evict) return "full";
      // An event fits an empty ring (check() refused larger ones), so this ends.
      let evicted = 0;
      while (!ring.hasRoom(length) && ring.evictOldest()) evicted++;
      shard.dropped += evicted;
      this.drops.evicted += evicted;
      publishDrop(this.producer, shard.id, "evicted", evicted, false, "event");
    }
    const timestamp = nextTimestamp(shard.lastTimestamp, this.clock.now);
    shard.lastTimestamp = timestamp;
    ring.commit(length, timestamp);
    shard.accepted++;
    if (ring.length >= shard.wakeAt || ring.bytes >= shard.wakeBytes) shard.pump.wake();
    return "accepted";
  }
}

/** `String.prototype.isWellFormed` (Node 20; not yet in the ES2023 lib this package compiles against). */
interface WellFormed {
  isWellFormed(): boolean;
}
