import { setMaxListeners } from "node:events";
import { CoarseClock, nextTimestamp } from "./clock.js";
import { type BusOptions, type ResolvedConfig, resolveConfig } from "./config.js";
import { checkAdapter } from "./adapter-check.js";
import type { Adapter } from "./contract/adapter.js";
import { type PollRequest, type PollResult, pollShards } from "./consumer/poll.js";
import { type SubscribeOptions, type Subscription, subscribe } from "./consumer/subscribe.js";
import type { InvalidEventError } from "./errors.js";
import { EventInput } from "./event-input.js";
import { type RoutingHasher, loadRoutingHasher } from "./hashing.js";
import { MemoryAdapter } from "./memory/memory-adapter.js";
import { type ProducerState, ephemeralProducerState, persistentProducerState } from "./producer-state.js";
import type { IngestManyOptions, IngestOptions, RawEvent } from "./raw-event.js";
import { reduceHash } from "./routing.js";
import { Shard } from "./shard.js";
import { ShardPump } from "./shard-pump.js";
import { type ShutdownOptions, type ShutdownReport, checkShutdownOptions, shutDown } from "./shutdown.js";
import {
  type BusStats,
  type DropCounts,
  type IngestStatus,
  type RejectCounts,
  total,
  zeroDropCounts,
  zeroRejectCounts,
} from "./stats.js";
import { withTimeout } from "./with-timeout.js";

/**
 * The event bus: takes JSON events in-process, spreads them over shards, batches them and hands the
 * batches to an adapter, counting every event until it is stored or dropped. Create one with
 * {@link createBus}; stop it with {@link EventBus.shutdown} (or `await using`).
 *
 * Ingest calls are synchronous and never throw for load: they return an {@link IngestStatus}. They
 * throw {@link InvalidEventError} only for input that is not an event (not serializable, bad key).
 */
export class EventBus implements AsyncDisposable {
  /** The producer nonce carried by every batch (16 hex digits). */
  readonly producer: string;
  /** The adapter batches go to. */
  readonly adapter: Adapter;
  /** Number of shards. */
  readonly shardCount: number;
  private readonly shards: Shard[] = [];
  private readonly pumps: ShardPump[] = [];
  private readonly clock = new CoarseClock();
  private readonly drops: DropCounts = zeroDropCounts();
  private readonly rejects: RejectCounts = zeroRejectCounts();
  private readonly stopController = new AbortController();
  private readonly evictWhenFull: boolean;
  private readonly stopAtFirstRejection: boolean;
  private readonly sampleRate: number;
  private readonly input: EventInput;
  private closed = false;
  private polls = 0;
  private shutdownResult: Promise<ShutdownReport> | undefined;

  private constructor(
    private readonly config: ResolvedConfig,
    adapter: Adapter,
    hasher: RoutingHasher,
    private readonly producerState: ProducerState,
  ) {
    this.adapter = adapter;
    this.input = new EventInput(hasher, this.rejects);
    this.producer = producerState.producer;
    this.shardCount = config.shards;
    const { mode } = config.backpressure;
    this.evictWhenFull = mode === "drop-oldest";
    this.stopAtFirstRejection = mode === "fail-producer" || mode === "block";
    this.sampleRate = config.backpressure.mode === "sample" ? config.backpressure.rate : 1;
    // Every shard's in-flight attempt and back-off listens to this one signal: no fixed limit applies.
    setMaxListeners(0, this.stopController.signal);
    const dispatch = {
      adapter,
      timeoutMs: config.adapterTimeoutMs,
      retries: config.retries,
      retryBaseDelayMs: config.retryBaseDelayMs,
      retryMaxDelayMs: config.retryMaxDelayMs,
      logger: config.logger,
      stop: this.stopController.signal,
    };
    const context = { config, producer: producerState, dispatch, drops: this.drops, logger: config.logger };
    for (let id = 0; id < config.shards; id++) {
      const shard = new Shard(id, config, producerState.startSequence(id));
      this.shards.push(shard);
      this.pumps.push(new ShardPump(shard, context));
    }
  }

  /** Validates the options, initialises the adapter and starts one pump per shard. */
  static async create(options: BusOptions = {}): Promise<EventBus> {
    const config = resolveConfig(options);
    const adapter = options.adapter ?? new MemoryAdapter();
    checkAdapter(adapter);
    const [hasher, producerState] = await Promise.all([
      loadRoutingHasher(),
      config.producerStatePath === undefined
        ? ephemeralProducerState()
        : persistentProducerState(config.producerStatePath),
    ]);
    await withTimeout(`${adapter.name}.init`, config.adapterTimeoutMs, () =>
      adapter.init({ logger: config.logger }),
    );
    config.logger.info(
      { adapter: adapter.name, shards: config.shards, producer: producerState.producer },
      "event bus started",
    );
    return new EventBus(config, adapter, hasher, producerState);
  }

  /** True once `shutdown()` has been called: ingest returns `"closed"` from then on. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Serializes and hashes an event once, for repeated or deferred ingest with {@link ingestRaw}. */
  prepare(value: unknown, options?: IngestOptions): RawEvent {
    const json = this.input.serialize(value);
    return { json, hash: this.input.hashOf(json, options?.key) };
  }

  /** The shard a partition key routes to. */
  shardFor(key: string): number {
    return reduceHash(this.input.hashKey(key), this.shardCount);
  }

  /** Ingests one JSON-serializable value (serialized once, here). */
  ingest(value: unknown, options?: IngestOptions): IngestStatus {
    if (this.closed) return this.rejectClosed(1, "closed");
    const json = this.input.serialize(value);
    const status = this.admit(this.route(this.input.hashOf(json, options?.key)), json);
    if (status === "full") this.rejects.full++;
    return status;
  }

  /** Ingests a pre-serialized event: no serialization, no hashing. The fastest path. */
  ingestRaw(event: RawEvent): IngestStatus {
    if (this.closed) return this.rejectClosed(1, "closed");
    const json = event.json;
    if (typeof json !== "string") throw this.input.invalid("RawEvent.json must be a string");
    const status = this.admit(this.route(event.hash), json);
    if (status === "full") this.rejects.full++;
    return status;
  }

  /**
   * Ingests many values; returns how many were accepted. Every value is serialized before any is
   * admitted, so an invalid one throws {@link InvalidEventError} and nothing is ingested. With
   * `fail-producer` and `block`, ingest stops at the first event that finds its ring full, so the
   * return value is the length of the accepted prefix; other modes carry on past rejections.
   */
  ingestMany(values: readonly unknown[], options?: IngestManyOptions): number {
    if (this.closed) return this.rejectClosed(values.length, 0);
    const { texts, hashes } = this.input.serializeAll(values, options);
    return this.admitAll(texts, hashes);
  }

  /** Ingests many pre-serialized events; same rules as {@link ingestMany}. */
  ingestRawMany(events: readonly RawEvent[]): number {
    if (this.closed) return this.rejectClosed(events.length, 0);
    const { texts, hashes } = this.input.unpackRaw(events);
    return this.admitAll(texts, hashes);
  }

  /**
   * Ingests one value, waiting for room while its shard's ring is full instead of refusing it (in any
   * backpressure mode). Resolves `"accepted"`, or `"closed"` / `"sampled"` / `"unrouted"` when the event
   * was not taken. Waiting is not a rejection: only the final status is counted.
   */
  ingestOrWait(value: unknown, options?: IngestOptions): Promise<IngestStatus> {
    if (this.closed) return Promise.resolve(this.rejectClosed(1, "closed"));
    const json = this.input.serialize(value);
    return this.admitWaiting(json, this.input.hashOf(json, options?.key));
  }

  /** {@link ingestOrWait} for a pre-serialized event. */
  ingestRawOrWait(event: RawEvent): Promise<IngestStatus> {
    if (this.closed) return Promise.resolve(this.rejectClosed(1, "closed"));
    if (typeof event?.json !== "string") throw this.input.invalid("RawEvent.json must be a string");
    return this.admitWaiting(event.json, event.hash);
  }

  /**
   * Ingests many values in order, waiting for room whenever a ring is full; resolves the accepted count.
   * Validation is all-or-nothing, as in {@link ingestMany}.
   */
  async ingestManyOrWait(values: readonly unknown[], options?: IngestManyOptions): Promise<number> {
    if (this.closed) return this.rejectClosed(values.length, 0);
    const { texts, hashes } = this.input.serializeAll(values, options);
    return this.admitAllWaiting(texts, hashes);
  }

  /** {@link ingestManyOrWait} for pre-serialized events. */
  async ingestRawManyOrWait(events: readonly RawEvent[]): Promise<number> {
    if (this.closed) return this.rejectClosed(events.length, 0);
    const { texts, hashes } = this.input.unpackRaw(events);
    return this.admitAllWaiting(texts, hashes);
  }

  /**
   * Delivery barrier: resolves once every event accepted before the call has been dispatched or
   * counted as dropped, then asks the adapter to flush. Batches that are filling are sent at once.
   * It waits on exact per-shard positions, never on a deadline; each adapter call is bounded by
   * `adapterTimeoutMs` and its retries.
   */
  async flush(): Promise<void> {
    await Promise.all(this.shards.map((shard, i) => this.pumps[i]!.settle(shard.accepted)));
    if (this.closed) return; // shutdown flushes the adapter itself, exactly once
    await withTimeout(`${this.adapter.name}.flush`, this.config.adapterTimeoutMs, () => this.adapter.flush());
  }

  /**
   * Stops the bus: refuses new events, sends everything accepted, then calls the adapter's `flush` and
   * `shutdown` once each. Concurrent and repeated calls share the one shutdown and its report. With
   * `deadlineMs`, events still pending when it passes are dropped (reason `shutdownDeadline`).
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownReport> {
    if (this.shutdownResult === undefined) {
      try {
        checkShutdownOptions(options);
      } catch (error) {
        return Promise.reject(error);
      }
      this.shutdownResult = this.startShutdown(options);
    }
    return this.shutdownResult;
  }

  /** `await using bus = await createBus()` shuts the bus down at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Ids of the live shards, ascending. */
  shardIds(): number[] {
    return this.shards.map((shard) => shard.id);
  }

  /**
   * Reads stored events across every live shard (or `request.shards`), concurrently, through the
   * adapter: at most `limit` events after `cursor`, optionally filtered and ordered. A failing shard is
   * reported in `failedShards` and does not fail the poll. Throws `InvalidCursorError`,
   * `InvalidFilterError` or `InvalidPollRequestError` for bad input.
   */
  poll(request: PollRequest): Promise<PollResult> {
    return pollShards(this.adapter, this.shardIds(), request, this.config.logger, this.polls++);
  }

  /**
   * Tails the bus: an async iterable that delivers every stored event once, in per-shard order, polling
   * with back-off while idle. Stop it with `break`, `close()` or an `AbortSignal`; resume from its
   * `cursor`. After `shutdown()` it ends once everything stored has been delivered.
   */
  subscribe(options?: SubscribeOptions): Subscription {
    return subscribe(this, options);
  }

  /** Asks the adapter whether its backend is reachable; false once the bus is closed or on error. */
  async isHealthy(): Promise<boolean> {
    if (this.closed) return false;
    try {
      return await withTimeout(`${this.adapter.name}.isHealthy`, this.config.adapterTimeoutMs, () =>
        this.adapter.isHealthy(),
      );
    } catch {
      return false;
    }
  }

  /** A consistent snapshot of every counter (see {@link BusStats} for the invariants). */
  stats(): BusStats {
    const shards = this.shards.map((shard) => shard.stats());
    let ingested = 0;
    let dispatched = 0;
    let batches = 0;
    let pending = 0;
    for (const shard of this.shards) {
      ingested += shard.accepted;
      dispatched += shard.dispatched;
      batches += shard.batches;
      pending += shard.pending;
    }
    return {
      ingested,
      dispatched,
      dropped: total(this.drops),
      droppedBy: { ...this.drops },
      rejected: total(this.rejects),
      rejectedBy: { ...this.rejects },
      batches,
      pending,
      shards,
    };
  }

  private startShutdown(options: ShutdownOptions): Promise<ShutdownReport> {
    this.closed = true;
    return shutDown({
      options,
      adapter: this.adapter,
      config: this.config,
      pumps: this.pumps,
      shards: this.shards,
      producerState: this.producerState,
      stopController: this.stopController,
      stats: () => this.stats(),
    });
  }

  /** The ingest hot path: sampling, backpressure, timestamp, push, wake. Counts all but `"full"`. */
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
      if (!this.evictWhenFull) return "full";
      ring.evictOldest();
      shard.dropped++;
      this.drops.evicted++;
    }
    const timestamp = nextTimestamp(shard.lastTimestamp, this.clock.now);
    shard.lastTimestamp = timestamp;
    ring.push(json, timestamp);
    shard.accepted++;
    if (ring.length >= shard.wakeAt) this.pumps[shard.id]!.wake();
    return "accepted";
  }

  private admitAll(texts: readonly string[], hashes: readonly number[]): number {
    let accepted = 0;
    for (let i = 0; i < texts.length; i++) {
      const status = this.admit(this.route(hashes[i]!), texts[i]!);
      if (status === "accepted") {
        accepted++;
        continue;
      }
      if (status === "full") {
        this.rejects.full++;
        if (this.stopAtFirstRejection) break;
      }
    }
    return accepted;
  }

  private async admitWaiting(json: string, hash: number): Promise<IngestStatus> {
    const shard = this.route(hash);
    for (;;) {
      const status = this.admit(shard, json);
      if (status !== "full") return status;
      await this.pumps[shard.id]!.whenRoom();
      if (this.closed) return this.rejectClosed(1, "closed");
    }
  }

  private async admitAllWaiting(texts: readonly string[], hashes: readonly number[]): Promise<number> {
    let accepted = 0;
    for (let i = 0; i < texts.length; i++) {
      const shard = this.route(hashes[i]!);
      let status = this.admit(shard, texts[i]!);
      while (status === "full") {
        await this.pumps[shard.id]!.whenRoom();
        if (this.closed) return this.rejectClosed(texts.length - i, accepted);
        status = this.admit(shard, texts[i]!);
      }
      if (status === "accepted") accepted++;
    }
    return accepted;
  }

  private route(hash: number): Shard {
    return this.shards[reduceHash(hash, this.shardCount)]!;
  }

  /** Counts `count` events refused because the bus is closed, and returns `result`. */
  private rejectClosed<T>(count: number, result: T): T {
    this.rejects.closed += count;
    return result;
  }
}

/** Creates, validates and starts an event bus (see {@link EventBus} and {@link BusOptions}). */
export function createBus(options?: BusOptions): Promise<EventBus> {
  return EventBus.create(options);
}
