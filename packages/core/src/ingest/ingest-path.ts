import { publishBackpressure, publishDrop } from "../diagnostics/publish.js";
import { type CoarseClock, nextTimestamp } from "./clock.js";
import type { ResolvedConfig } from "../config.js";
import type { Shard } from "../shard/shard.js";
import type { DropCounts, IngestStatus, RejectCounts } from "../stats.js";
import type { Topology } from "../shard/topology.js";

/**
 * The ingest hot path: route an event, apply sampling and backpressure, stamp it, push it, wake the
 * pump. No allocation, promise, timer or clock read per event (the clock is read every 128 pushes).
 * Every refusal is counted here, so the bus's public calls only serialize and hash.
 */
export class IngestPath {
  /** Set by shutdown: from then on every offer is refused as `"closed"`. */
  closed = false;
  private readonly evictWhenFull: boolean;
  private readonly stopAtFirstRejection: boolean;
  private readonly sampleRate: number;
  /** Texts up to this many UTF-16 units fit `maxEventBytes` for sure (at most 3 UTF-8 bytes per unit). */
  private readonly surelyFits: number;

  constructor(
    config: ResolvedConfig,
    private readonly topology: Topology,
    private readonly clock: CoarseClock,
    private readonly drops: DropCounts,
    private readonly rejects: RejectCounts,
    /** The adapter's `capabilities.maxEventBytes`: larger events are refused as `"tooLarge"`. */
    private readonly maxEventBytes: number,
    /** The bus's producer nonce, for diagnostics messages. */
    private readonly producer: string,
  ) {
    this.surelyFits = Math.floor(maxEventBytes / 3);
    const bp = config.backpressure;
    this.evictWhenFull = bp.mode === "drop-oldest";
    this.stopAtFirstRejection = bp.mode === "fail-producer" || bp.mode === "block";
    this.sampleRate = bp.mode === "sample" ? bp.rate : 1;
  }

  /** Offers one event; returns its status. */
  offer(json: string, hash: number, keyed: boolean): IngestStatus {
    if (json.length > this.surelyFits && this.tooLarge(json)) return "tooLarge";
    const shard = this.destination(hash, keyed);
    if (typeof shard === "string") return shard;
    const status = this.admit(shard, json);
    if (status === "full") this.rejects.full++;
    return status;
  }

  /**
   * Offers events in order; returns how many were accepted. With fail-producer and block it stops at the
   * first full ring (the accepted events are then a prefix).
   */
  offerAll(texts: readonly string[], hashes: readonly number[], keyed: readonly boolean[]): number {
    if (this.closed) return this.refuseClosed(texts.length, 0);
    let accepted = 0;
    for (let i = 0; i < texts.length; i++) {
      const status = this.offer(texts[i]!, hashes[i]!, keyed[i]!);
      if (status === "accepted") accepted++;
      else if (status === "full" && this.stopAtFirstRejection) break;
    }
    return accepted;
  }

  /** Offers one event, waiting for room while its ring is full. Routed again after each wait. */
  async offerWaiting(json: string, hash: number, keyed: boolean): Promise<IngestStatus> {
    if (json.length > this.surelyFits && this.tooLarge(json)) return "tooLarge";
    for (;;) {
      const shard = this.destination(hash, keyed);
      if (typeof shard === "string") return shard;
      const status = this.admit(shard, json);
      if (status !== "full") return status;
      await shard.pump.whenRoom();
    }
  }

  /** Offers events in order, waiting for room whenever a ring is full; resolves the accepted count. */
  async offerAllWaiting(
    texts: readonly string[],
    hashes: readonly number[],
    keyed: readonly boolean[],
  ): Promise<number> {
    let accepted = 0;
    for (let i = 0; i < texts.length; i++) {
      if (this.closed) return this.refuseClosed(texts.length - i, accepted);
      const status = await this.offerWaiting(texts[i]!, hashes[i]!, keyed[i]!);
      if (status === "accepted") accepted++;
      else if (status === "closed") return this.refuseClosed(texts.length - i - 1, accepted);
    }
    return accepted;
  }

  /** Counts `count` events refused because the bus is closed, and returns `result`. */
  refuseClosed<T>(count: number, result: T): T {
    this.rejects.closed += count;
    return result;
  }

  /** Counts and reports an event larger than the adapter stores; only called for long texts. */
  private tooLarge(json: string): boolean {
    if (json.length <= this.maxEventBytes && Buffer.byteLength(json, "utf8") <= this.maxEventBytes)
      return false;
    this.rejects.tooLarge++;
    return true;
  }

  /** The shard an event goes to, or why it cannot go anywhere (counted). */
  private destination(hash: number, keyed: boolean): Shard | "closed" | "unrouted" {
    if (this.closed) return this.refuseClosed(1, "closed");
    const shard = this.topology.route(hash, keyed);
    if (shard !== undefined) return shard;
    this.rejects.unrouted++;
    return "unrouted";
  }

  /** Sampling, backpressure, timestamp, push, wake. Counts every outcome but `"full"`. */
  private admit(shard: Shard, json: string): IngestStatus {
    const ring = shard.ring;
    if (ring.length === 0) this.clock.refresh();
    else this.clock.tick();
    if (ring.length >= shard.sampleFrom) {
      if (++shard.sampleCounter < this.sampleRate) {
        this.rejects.sampled++;
        return "sampled";
      }
      shard.sampleCounter = 0;
    }
    if (ring.length === ring.capacity) {
      if (!shard.backpressured) {
        shard.backpressured = true;
        publishBackpressure(this.producer, shard, "engaged");
      }
      if (!this.evictWhenFull) return "full";
      ring.evictOldest();
      shard.dropped++;
      this.drops.evicted++;
      publishDrop(this.producer, shard.id, "evicted", 1, false, "event");
    }
    const timestamp = nextTimestamp(shard.lastTimestamp, this.clock.now);
    shard.lastTimestamp = timestamp;
    ring.push(json, timestamp);
    shard.accepted++;
    if (ring.length >= shard.wakeAt) shard.pump.wake();
    return "accepted";
  }
}
