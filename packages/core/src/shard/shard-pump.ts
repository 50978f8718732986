import type { ResolvedConfig } from "../config.js";
import { nowMicrosFrom } from "../ingest/clock.js";
import type { Logger } from "../contract/logger.js";
import { type DispatchContext, type DispatchOutcome, dispatchWithRetry } from "../dispatch/dispatch.js";
import { publishBackpressure, publishDrop } from "../diagnostics/publish.js";
import { OutgoingBatch } from "../dispatch/outgoing-batch.js";
import type { ProducerState } from "../lifecycle/producer-state.js";
import type { Shard } from "./shard.js";
import type { DropCounts, DropReason } from "../stats.js";

/** What a pump shares with the bus. */
export interface PumpContext {
  readonly config: ResolvedConfig;
  readonly producer: ProducerState;
  readonly dispatch: DispatchContext;
  /** The bus's drop counters, per reason. */
  readonly drops: DropCounts;
  /** The part of {@link drops} whose batch may have been stored all the same, per reason. */
  readonly uncertain: DropCounts;
  readonly logger: Logger;
}

interface Barrier {
  readonly target: number;
  readonly resolve: () => void;
}

/** Events from acceptance index `holdFrom` on wait until `released` settles (a topology change). */
interface Gate {
  readonly holdFrom: number;
  open: boolean;
}

/**
 * The per-shard loop that turns queued events into batches and hands them to the adapter, one batch in
 * flight at a time so a shard's events are stored in order. A batch leaves when the queue reaches the
 * size target (adaptive, and at most half the ring so producers keep room), when the oldest queued event
 * has waited `maxDelayMs`, when a flush barrier is pending, or while stopping. Idle, it holds no timer.
 */
export class ShardPump {
  /** Settles when the pump has exited (after `stop()` and an empty queue). Never rejects. */
  readonly done: Promise<void>;
  private stopping = false;
  private aborted = false;
  private idle = false;
  private wakeUp: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The delay timer of the pending batch fired (see {@link onDeadline}); cleared when a batch leaves. */
  private deadlineFired = false;
  /** Lower bound of the time (performance.now) since which the oldest queued event has waited. */
  private pendingSince = 0;
  private flushTarget = 0;
  private barriers: Barrier[] = [];
  private gates: Gate[] = [];
  private room: Promise<void> | undefined;
  private releaseRoomWaiters: (() => void) | undefined;
  private readonly sizeCap: number;

  constructor(
    private readonly shard: Shard,
    private readonly context: PumpContext,
  ) {
    this.sizeCap = Math.max(1, shard.ring.capacity >> 1);
    shard.pump = this;
    this.done = this.run();
  }

  /** Wakes the pump if it sleeps. Called by the ingest path when `shard.wakeAt` is reached. */
  readonly wake = (): void => {
    const resolve = this.wakeUp;
    if (resolve === undefined) return;
    this.wakeUp = undefined;
    this.shard.wakeAt = Number.POSITIVE_INFINITY;
    this.shard.wakeBytes = Number.POSITIVE_INFINITY;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.idle) {
      this.idle = false;
      this.pendingSince = performance.now();
    }
    resolve();
  };

  /** Resolves once every event accepted before acceptance index `target` is dispatched or dropped. */
  settle(target: number): Promise<void> {
    if (this.shard.oldestUnsettled >= target) return Promise.resolve();
    if (target > this.flushTarget) this.flushTarget = target;
    return new Promise((resolve) => {
      this.barriers.push({ target, resolve });
      this.wake();
    });
  }

  /**
   * Holds back events accepted from now on until `released` settles: after a topology change, a key's
   * new shard must not store its new events before every shard has stored what it accepted before.
   */
  hold(released: Promise<unknown>): void {
    const gate: Gate = { holdFrom: this.shard.accepted, open: false };
    this.gates.push(gate);
    const open = () => {
      gate.open = true;
      this.gates = this.gates.filter((g) => !g.open);
      this.wake();
    };
    released.then(open, open);
  }

  /** Resolves the next time the pump frees ring slots (or stops). Shared by every waiter. */
  whenRoom(): Promise<void> {
    this.room ??= new Promise((resolve) => {
      this.releaseRoomWaiters = resolve;
    });
    return this.room;
  }

  /** Sends everything still queued without waiting for batches to fill, then exits. */
  stop(): void {
    this.stopping = true;
    this.freeRoom();
    this.wake();
  }

  /** Gives up on queued events: they are dropped as `shutdownDeadline`. Call after {@link stop}. */
  abort(): void {
    this.aborted = true;
    this.wake();
  }

  private async run(): Promise<void> {
    for (;;) {
      try {
        if (this.aborted) this.dropQueued("shutdownDeadline");
        const size = this.readySize();
        if (size > 0) {
          await this.send(size);
          continue;
        }
        this.releaseBarriers();
        if (this.stopping && this.shard.ring.length === 0) return;
        await this.sleep();
      } catch (error) {
        // Only a bug can get here; keep the queue moving rather than strand it.
        this.context.logger.error({ shard: this.shard.id, err: error }, "shard pump error");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  /** Queued events that no gate holds back (all of them when there is no gate). */
  private dispatchable(): number {
    const queued = this.shard.ring.length;
    const gate = this.gates[0];
    if (gate === undefined) return queued;
    return Math.max(0, Math.min(queued, gate.holdFrom - (this.shard.accepted - queued)));
  }

  private readySize(): number {
    const queued = this.dispatchable();
    if (queued === 0) return 0;
    const size = Math.min(queued, this.context.config.batch.maxSize);
    if (this.stopping || this.flushTarget > this.shard.oldestUnsettled) return size;
    if (queued >= Math.min(this.shard.sizer.target, this.sizeCap)) return size;
    if (this.shard.ring.bytes >= this.shard.wakeBytesAt) return size;
    if (this.deadlineFired || performance.now() - this.pendingSince >= this.context.config.batch.maxDelayMs)
      return size;
    return 0;
  }

  private sleep(): Promise<void> {
    const { shard } = this;
    return new Promise((resolve) => {
      this.wakeUp = resolve;
      if (shard.ring.length === 0) {
        this.idle = true;
        shard.wakeAt = 1;
        return;
      }
      if (this.dispatchable() === 0) return; // gated: the gate's release wakes the pump
      shard.wakeAt = Math.min(shard.sizer.target, this.sizeCap);
      shard.wakeBytes = shard.wakeBytesAt;
      const waited = performance.now() - this.pendingSince;
      const remaining = Math.max(0, this.context.config.batch.maxDelayMs - waited);
      // Rounded down: a timer fires a fraction of a millisecond late as a rule (more on a busy host), and
      // `maxDelayMs` is the longest an event may wait, not the shortest.
      this.timer = setTimeout(this.onDeadline, Math.floor(remaining));
    });
  }

  /**
   * The batch's delay timer fired: the batch is due. libuv measures timers against the loop time it
   * cached when the iteration began, so a timer can fire up to a millisecond before `performance.now()`
   * says the delay is over; asking the clock again would sleep one more millisecond.
   */
  private readonly onDeadline = (): void => {
    this.timer = undefined;
    this.deadlineFired = true;
    this.wake();
  };

  private async send(wanted: number): Promise<void> {
    const { shard, context } = this;
    const startedAt = performance.now();
    this.deadlineFired = false;
    shard.sizer.observe(shard.accepted, startedAt);
    shard.inFlightStart = shard.accepted - shard.ring.length;
    // A batch is one run of the ring: a slab's may stop short of `wanted` where the oldest events' chunk ends.
    const run = shard.ring.take(wanted)!;
    const { timestamps } = run;
    const size = timestamps.length;
    shard.inFlight = size;
    shard.inFlightSince = timestamps[0]!;
    const hadLeftovers = shard.ring.length > 0;
    const firstSequence = shard.nextSequence;
    shard.nextSequence += size;
    this.freeRoom();

    // The mean wait of the batch's events, from its oldest and newest timestamps (µs, epoch-based).
    const waitedMs = (nowMicrosFrom(startedAt) - (timestamps[0]! + timestamps[size - 1]!) / 2) / 1000;
    const batch = OutgoingBatch.fromRun(shard.id, context.producer.producer, firstSequence, run);
    let outcome: DispatchOutcome;
    try {
      await context.producer.reserve(shard.id, firstSequence + size);
      const dispatchedAt = performance.now();
      outcome = await dispatchWithRetry(batch, context.dispatch, Math.max(0, waitedMs));
      shard.flushSum += performance.now() - dispatchedAt;
      shard.flushCount++;
    } catch (error) {
      context.logger.error(
        { shard: shard.id, firstSequence, events: size, reason: "producerState", err: error },
        "batch dropped: its sequence numbers could not be reserved",
      );
      outcome = { drop: "producerState", uncertain: false };
    }
    // The slab memory is reused once no adapter call can read it, an abandoned one included.
    batch.onIdle(() => shard.ring.release(run));
    shard.inFlight = 0;
    if (typeof outcome === "object" && "drop" in outcome) {
      this.recordDrop(outcome.drop, size, "batch", outcome.uncertain);
    } else {
      // The adapter stored the batch but for the events it refused: each is dropped with its reason.
      const rejected = outcome === "dispatched" ? [] : outcome.rejected;
      for (const { reason } of rejected) this.recordDrop(reason, 1, "event");
      shard.dispatched += size - rejected.length;
      shard.batches++;
      shard.queueDelaySum += Math.max(0, waitedMs);
    }
    // Events queued now arrived after the take, unless some were left over (those keep the older mark).
    if (!hadLeftovers) this.pendingSince = startedAt;
    this.releaseBarriers();
  }

  private recordDrop(
    reason: DropReason,
    count: number,
    scope: "batch" | "queued" | "event",
    uncertain = false,
  ): void {
    this.shard.dropped += count;
    this.context.drops[reason] += count;
    if (uncertain) this.context.uncertain[reason] += count;
    publishDrop(this.context.producer.producer, this.shard.id, reason, count, uncertain, scope);
  }

  private dropQueued(reason: DropReason): void {
    const count = this.shard.ring.clear();
    if (count === 0) return;
    this.recordDrop(reason, count, "queued");
    this.context.logger.error({ shard: this.shard.id, events: count, reason }, "queued events dropped");
  }

  private freeRoom(): void {
    const { shard } = this;
    const { ring } = shard;
    if (shard.backpressured && ring.length <= ring.capacity >> 1 && ring.bytes <= ring.byteCapacity / 2) {
      shard.backpressured = false;
      publishBackpressure(this.context.producer.producer, shard, "released");
    }
    const release = this.releaseRoomWaiters;
    if (release === undefined) return;
    this.room = undefined;
    this.releaseRoomWaiters = undefined;
    release();
  }

  private releaseBarriers(): void {
    if (this.barriers.length === 0) return;
    const oldest = this.shard.oldestUnsettled;
    const waiting: Barrier[] = [];
    for (const barrier of this.barriers) {
      if (barrier.target <= oldest) barrier.resolve();
      else waiting.push(barrier);
    }
    this.barriers = waiting;
  }
}
