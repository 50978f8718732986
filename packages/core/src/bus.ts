import { setMaxListeners } from "node:events";
import { acceptAdapter, checkCapabilities } from "./dispatch/adapter-check.js";
import { CoarseClock } from "./ingest/clock.js";
import { type BusOptions, type ResolvedConfig, resolveConfig } from "./config.js";
import type { Adapter } from "./contract/adapter.js";
import type { AdapterCapabilities } from "./contract/capabilities.js";
import { channels } from "./diagnostics/channels.js";
import { type PollRequest, type PollResult, pollShards } from "./consumer/poll.js";
import { type SubscribeOptions, type Subscription, subscribe } from "./consumer/subscribe.js";
import { BusClosedError, type InvalidEventError, ScalingError } from "./errors.js";
import { EventInput } from "./ingest/event-input.js";
import { type RoutingHasher, loadRoutingHasher } from "./ingest/hashing.js";
import { IngestPath } from "./ingest/ingest-path.js";
import { PreparedEvent } from "./ingest/prepared-event.js";
import { MemoryAdapter } from "./memory/memory-adapter.js";
import {
  type ProducerState,
  ephemeralProducerState,
  persistentProducerState,
} from "./lifecycle/producer-state.js";
import type { IngestManyOptions, IngestOptions, RawEvent } from "./ingest/raw-event.js";
import type { ShardMetrics } from "./scaling/evaluate.js";
import { manualScaleDown, manualScaleUp } from "./scaling/manual.js";
import { ScalingMonitor } from "./scaling/monitor.js";
import { Shard } from "./shard/shard.js";
import { ShardPump } from "./shard/shard-pump.js";
import {
  type ShutdownOptions,
  type ShutdownReport,
  checkShutdownOptions,
  shutDown,
} from "./lifecycle/shutdown.js";
import {
  type BusStats,
  type DropCounts,
  type IngestStatus,
  type RejectCounts,
  collectStats,
  zeroDropCounts,
  zeroRejectCounts,
} from "./stats.js";
import { Topology, type TopologyListener } from "./shard/topology.js";
import { RunningSubscriptions } from "./lifecycle/running-subscriptions.js";
import { withTimeout } from "./lifecycle/timers.js";

/**
 * The event bus: takes JSON events in-process, spreads them over shards, batches them and hands the
 * batches to an adapter, counting every event until it is stored or dropped. Create one with
 * {@link createBus}; stop it with {@link EventBus.shutdown} (or `await using`).
 *
 * Ingest calls are synchronous and never throw for load: they return an {@link IngestStatus}. They
 * throw {@link InvalidEventError} only for input that is not an event (not serializable, bad key, not a
 * `RawEvent`, a batch that is not an array), also once shut down; the waiting calls reject with it.
 */
export class EventBus implements AsyncDisposable {
  /** The producer nonce carried by every batch (16 hex digits). */
  readonly producer: string;
  /** The adapter batches go to. */
  readonly adapter: Adapter;
  /** The adapter's capabilities, as checked when the bus started (they never change afterwards). */
  readonly capabilities: AdapterCapabilities;
  private readonly drops: DropCounts = zeroDropCounts();
  private readonly uncertain: DropCounts = zeroDropCounts();
  private readonly rejects: RejectCounts = zeroRejectCounts();
  private readonly stopController = new AbortController();
  private readonly input: EventInput;
  private readonly topology: Topology;
  private readonly path: IngestPath;
  private readonly monitor: ScalingMonitor | undefined;
  private polls = 0;
  /** Set once shutdown settled every accepted event: subscriptions then end at the first empty page. */
  private drained = false;
  /** Set when shutdown closes the adapter: polls are refused from then on. */
  private adapterClosed = false;
  /** Running subscription iterations; shutdown lets them deliver what is stored before closing the adapter. */
  private readonly subscriptions = new RunningSubscriptions();
  private shutdownResult: Promise<ShutdownReport> | undefined;

  private constructor(
    private readonly config: ResolvedConfig,
    adapter: Adapter,
    capabilities: AdapterCapabilities,
    hasher: RoutingHasher,
    private readonly producerState: ProducerState,
  ) {
    this.adapter = adapter;
    this.capabilities = capabilities;
    this.input = new EventInput(hasher, this.rejects);
    this.producer = producerState.producer;
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
      producer: producerState.producer,
    };
    const context = {
      config,
      producer: producerState,
      dispatch,
      drops: this.drops,
      uncertain: this.uncertain,
      logger: config.logger,
    };
    const payload = capabilities.payload ?? "text";
    const createShard = (id: number) => {
      const shard = new Shard(id, config, producerState.startSequence(id), payload);
      new ShardPump(shard, context); // the pump attaches itself to the shard and starts
      return shard;
    };
    this.topology = new Topology(createShard, config.shards, config.scaling !== undefined, config.logger);
    this.path = new IngestPath(
      config,
      this.topology,
      new CoarseClock(),
      this.drops,
      this.rejects,
      capabilities.maxEventBytes,
      producerState.producer,
      payload,
    );
    this.topology.onChange((event) => {
      if (channels.topologyChanged.hasSubscribers) {
        channels.topologyChanged.publish({ producer: producerState.producer, ...event });
      }
    });
    if (config.scaling !== undefined) {
      this.monitor = new ScalingMonitor(this.topology, config.scaling, config.logger);
      if (config.scaling.autoStart) this.monitor.start();
    }
  }

  /** Validates the options, initialises the adapter and starts one pump per shard. */
  static async create(options: BusOptions = {}): Promise<EventBus> {
    const config = resolveConfig(options);
    const adapter = acceptAdapter(options.adapter ?? new MemoryAdapter(), config.logger);
    const [hasher, producerState] = await Promise.all([
      loadRoutingHasher(),
      config.producerStatePath === undefined
        ? ephemeralProducerState()
        : persistentProducerState(config.producerStatePath),
    ]);
    const context = {
      logger: config.logger,
      adapterTimeoutMs: config.adapterTimeoutMs,
      persistentProducer: config.producerStatePath !== undefined,
    };
    await withTimeout(`${adapter.name}.init`, config.adapterTimeoutMs, () => adapter.init(context));
    let capabilities: AdapterCapabilities;
    try {
      capabilities = checkCapabilities(adapter, config.logger);
    } catch (error) {
      await adapter.shutdown().catch(() => {});
      throw error;
    }
    config.logger.info(
      { adapter: adapter.name, shards: config.shards, producer: producerState.producer },
      "event bus started",
    );
    return new EventBus(config, adapter, capabilities, hasher, producerState);
  }

  /** True once `shutdown()` has been called: ingest returns `"closed"` from then on. */
  get isClosed(): boolean {
    return this.path.closed;
  }

  /** Number of active shards. */
  get shardCount(): number {
    return this.topology.active().length;
  }

  /** Serializes and hashes an event once, for repeated or deferred ingest with {@link ingestRaw}. */
  prepare(value: unknown, options?: IngestOptions): RawEvent {
    return this.input.prepare(value, options?.key);
  }

  /** The shard a partition key routes to now (with dynamic scaling, until its slot moves). */
  shardFor(key: string): number {
    return this.topology.route(this.input.hashKey(key), true)?.id ?? -1;
  }

  /** Ingests one JSON-serializable value (serialized once, here). */
  ingest(value: unknown, options?: IngestOptions): IngestStatus {
    const json = this.input.serialize(value);
    const key = options?.key;
    return this.path.offer(json, this.input.hashOf(json, key), key !== undefined, false);
  }

  /**
   * Ingests a pre-serialized event: no serialization, no hashing, and no encoding either for an event
   * from {@link prepare} (its bytes are copied). The fastest path. A text with a lone surrogate is
   * refused (`"invalidText"`).
   */
  ingestRaw(event: RawEvent): IngestStatus {
    // A prepared event holds a string by construction, so neither its text nor its hash (a heap
    // number) is touched on the way: a pool of prepared events is read as small objects only.
    const prepared = PreparedEvent.of(event);
    if (prepared !== undefined) return this.path.offer(prepared, prepared.routingHash, prepared.keyed, false);
    return this.path.offer(this.input.rawText(event), event.hash, event.keyed !== false, true);
  }

  /**
   * Ingests many values; returns how many were accepted. Every value is serialized before any is
   * admitted, so an invalid one throws {@link InvalidEventError} and nothing is ingested. With
   * `fail-producer` and `block`, ingest stops at the first event refused for any reason, so the return
   * value `n` is the length of the accepted prefix and `values[n]` the refused event (`ingest` it alone
   * to learn why: `"full"` and `"unrouted"` are passing, `"tooLarge"` is not); other modes carry on past refusals.
   */
  ingestMany(values: readonly unknown[], options?: IngestManyOptions): number {
    return this.path.offerAll(this.input.serializeAll(values, options), false);
  }

  /** Ingests many pre-serialized events; same rules as {@link ingestMany}. */
  ingestRawMany(events: readonly RawEvent[]): number {
    return this.path.offerAll(this.input.unpackRaw(events), true);
  }

  /**
   * Ingests one value, waiting for room while its shard's ring is full instead of refusing it or evicting
   * queued events (in any backpressure mode, drop-oldest too). Resolves `"accepted"`, or `"closed"` /
   * `"sampled"` / `"unrouted"` when it was not taken. Waiting is not a rejection: only the final status counts.
   */
  async ingestOrWait(value: unknown, options?: IngestOptions): Promise<IngestStatus> {
    const json = this.input.serialize(value);
    const key = options?.key;
    return this.path.offerWaiting(json, this.input.hashOf(json, key), key !== undefined, false);
  }

  /** {@link ingestOrWait} for a pre-serialized event. */
  async ingestRawOrWait(event: RawEvent): Promise<IngestStatus> {
    const prepared = PreparedEvent.of(event);
    if (prepared !== undefined) {
      return this.path.offerWaiting(prepared, prepared.routingHash, prepared.keyed, false);
    }
    return this.path.offerWaiting(this.input.rawText(event), event.hash, event.keyed !== false, true);
  }

  /** Ingests many values in order, waiting for room whenever a ring is full; resolves the accepted count. */
  async ingestManyOrWait(values: readonly unknown[], options?: IngestManyOptions): Promise<number> {
    return this.path.offerAllWaiting(this.input.serializeAll(values, options), false);
  }

  /** {@link ingestManyOrWait} for pre-serialized events. */
  async ingestRawManyOrWait(events: readonly RawEvent[]): Promise<number> {
    return this.path.offerAllWaiting(this.input.unpackRaw(events), true);
  }

  /**
   * Delivery barrier: resolves once every event accepted before the call has been dispatched or
   * counted as dropped, then asks the adapter to flush. Batches that are filling are sent at once.
   * It waits on exact per-shard positions, never on a deadline; each adapter call is bounded by
   * `adapterTimeoutMs` and its retries.
   */
  async flush(): Promise<void> {
    await Promise.all(this.topology.shards().map((shard) => shard.pump.settle(shard.accepted)));
    if (this.path.closed) return; // shutdown flushes the adapter itself, exactly once
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
      this.path.closed = true;
      this.monitor?.stop();
      this.shutdownResult = shutDown({
        options,
        adapter: this.adapter,
        config: this.config,
        shards: this.topology.shards(),
        producerState: this.producerState,
        stopController: this.stopController,
        stats: () => this.stats(),
        onDrained: () => {
          this.drained = true;
        },
        onAdapterClosing: () => {
          this.adapterClosed = true;
        },
        subscriptions: () => this.subscriptions.all(),
      });
    }
    return this.shutdownResult;
  }

  /** `await using bus = await createBus()` shuts the bus down at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Ids of the live shards (active and draining), ascending; sparse after scale-down. */
  shardIds(): number[] {
    return this.topology.shards().map((shard) => shard.id);
  }

  /**
   * Reads stored events across every live shard, plus any shard the cursor names (a removed shard may
   * still hold unread events), or across `request.shards`: at most `limit` events after `cursor`,
   * optionally filtered and ordered. A failing shard is reported in `failedShards` and does not fail
   * the poll. Throws `InvalidCursorError`, `InvalidFilterError` or `InvalidPollRequestError`.
   */
  poll(request: PollRequest): Promise<PollResult> {
    if (this.adapterClosed) return Promise.reject(new BusClosedError());
    const since = this.topology.readWatermark(!this.path.closed);
    const reads = pollShards(this.adapter, this.shardIds(), request, this.config.logger, this.polls++, since);
    // Reads failed by shutdown closing the adapter under them: refused like any poll after the close.
    return reads.then((result) =>
      this.adapterClosed && result.failedShards.length > 0 ? Promise.reject(new BusClosedError()) : result,
    );
  }

  /**
   * Tails the bus: an async iterable that delivers every stored event once, in per-shard order, polling
   * with back-off while idle. Stop it with `break`, `close()` or an `AbortSignal`; resume from its
   * `cursor`. After `shutdown()` it ends once everything stored has been delivered.
   */
  subscribe(options?: SubscribeOptions): Subscription {
    return subscribe(
      {
        poll: (request) => this.poll(request),
        isClosed: () => this.path.closed,
        isDrained: () => this.drained,
        streamingAdapter: this.capabilities.streamingReads ? this.adapter : undefined,
        entryIds: this.adapter,
        shardIds: () => this.shardIds(),
        logger: this.config.logger,
        track: () => this.subscriptions.track(),
      },
      options,
    );
  }

  /** Adds up to `count` shards now (dynamic scaling; ignores the cooldown, respects `maxShards`); resolves their ids. */
  manualScaleUp(count: number): number[] {
    this.assertScalable();
    return manualScaleUp(this.topology, this.config.scaling!, count);
  }

  /** Drains up to `count` of the quietest shards (respects `minShards`); resolves the removed ids once they are gone. */
  manualScaleDown(count: number): Promise<number[]> {
    this.assertScalable();
    return manualScaleDown(this.topology, this.config.scaling!, count, this.monitor?.latest ?? []);
  }

  /** Starts the scaling monitor if it is not running (when `scaling.autoStart` was false). */
  startScalingMonitor(): void {
    this.assertScalable();
    this.monitor!.start();
  }

  /** The scaling monitor's latest per-shard measurements (empty without dynamic scaling). */
  scalingMetrics(): readonly ShardMetrics[] {
    return this.monitor?.latest ?? [];
  }

  /** Calls `listener` on every shard added, draining or removed; returns the unsubscribe function. */
  onTopologyChange(listener: TopologyListener): () => void {
    return this.topology.onChange(listener);
  }

  /** Asks the adapter whether its backend is reachable; false once the bus is closed or on error. */
  async isHealthy(): Promise<boolean> {
    if (this.path.closed) return false;
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
    return collectStats(this.topology, this.drops, this.uncertain, this.rejects);
  }

  private assertScalable(): void {
    if (this.config.scaling === undefined) {
      throw new ScalingError(
        "dynamic-scaling-disabled",
        "dynamic scaling is off: create the bus with `scaling`",
      );
    }
    if (this.path.closed) throw new ScalingError("closed", "the bus is shut down");
  }
}

/** Creates, validates and starts an event bus (see {@link EventBus} and {@link BusOptions}). */
export function createBus(options?: BusOptions): Promise<EventBus> {
  return EventBus.create(options);
}
