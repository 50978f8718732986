import { setMaxListeners } from "node:events";
import type { Adapter } from "../contract/adapter.js";
import { MAX_SHARD_ID } from "../contract/adapter-base.js";
import { type Logger, silentLogger } from "../contract/logger.js";
import { acceptAdapter, checkCapabilities } from "../dispatch/adapter-check.js";
import { ConfigError } from "../errors.js";
import { withTimeout } from "../lifecycle/timers.js";
import { type GroupSubscribeOptions, type GroupSubscription, subscribeGroup } from "./group.js";
import { type PollRequest, type PollResult, pollShards } from "./poll.js";
import { type SubscribeOptions, type Subscription, subscribe } from "./subscribe.js";

/** Options of {@link createReader}. */
export interface ReaderOptions {
  /** The adapter to read through; `createReader` initialises it and `close()` shuts it down. */
  readonly adapter: Adapter;
  /**
   * The shards to read. Default: discovered from the backend with `adapter.listShards()` (required
   * then: `capabilities.listsShards`), refreshed every `shardRefreshMs`, so shards created by other
   * processes (dynamic scaling) and shards removed but still holding events are read too.
   */
  readonly shards?: readonly number[];
  /** How often the discovered shard set is refreshed, ms. Default 1,000. */
  readonly shardRefreshMs?: number;
  /** Bound on the adapter's `init`, `listShards` and `shutdown`, ms. Default 10,000. */
  readonly adapterTimeoutMs?: number;
  /** A pino-compatible logger. Default: silent. */
  readonly logger?: Logger;
}

/**
 * A consumer without producers: reads a backend that buses in other processes write, with the same
 * `poll` and `subscribe` as `EventBus`. Create it with {@link createReader}.
 */
export class Reader implements AsyncDisposable {
  private known: number[];
  private refreshedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private polls = 0;
  private closed = false;
  private readonly stop = new AbortController();
  private readonly logger: Logger;
  private readonly members = new Set<GroupSubscription>();

  /** @internal Use {@link createReader}. */
  constructor(
    /** The adapter read through. */
    readonly adapter: Adapter,
    private readonly fixed: readonly number[] | undefined,
    private readonly refreshMs: number,
    private readonly timeoutMs: number,
    logger: Logger,
  ) {
    this.known = fixed === undefined ? [] : [...fixed];
    this.logger = logger;
    setMaxListeners(0, this.stop.signal);
  }

  /** The shard ids read now (the fixed set, or the last discovered one), ascending. */
  shardIds(): number[] {
    return [...this.known];
  }

  /** Re-reads the shard set from the backend (a no-op with fixed `shards`). */
  async refreshShards(): Promise<number[]> {
    if (this.fixed !== undefined) return this.shardIds();
    this.refreshing ??= withTimeout(`${this.adapter.name}.listShards`, this.timeoutMs, () =>
      this.adapter.listShards!(),
    )
      .then((ids) => {
        this.known = [...ids]
          .filter((id) => Number.isInteger(id) && id >= 0 && id <= MAX_SHARD_ID)
          .sort((a, b) => a - b);
        this.refreshedAt = performance.now();
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    await this.refreshing;
    return this.shardIds();
  }

  /** Reads up to `limit` events across the shards, exactly like `EventBus.poll`. */
  async poll(request: PollRequest): Promise<PollResult> {
    if (this.closed) throw new ConfigError("reader", "is closed");
    if (performance.now() - this.refreshedAt >= this.refreshMs) {
      await this.refreshShards().catch((error: unknown) => {
        this.logger.warn({ err: error }, "reader: refreshing the shard list failed; using the last one");
      });
    }
    return pollShards(this.adapter, this.known, request, this.logger, this.polls++);
  }

  /**
   * Follows the shards, exactly like `EventBus.subscribe`: with a streaming adapter each shard is
   * followed with `readShard`, new shards are picked up as they are discovered. It ends on `close()`.
   */
  subscribe(options?: SubscribeOptions): Subscription;
  /**
   * Joins a consumer group as `member`: the group's members (readers in any process over the same
   * backend) split the shards with leases stored in the backend, and each shard is read from the
   * group's checkpoint (see the README, "Consumer groups"). Needs an adapter with `coordination()`;
   * the member starts when it is first iterated. `close()` of the reader closes it too.
   */
  subscribe(options: GroupSubscribeOptions): GroupSubscription;
  subscribe(options?: SubscribeOptions | GroupSubscribeOptions): Subscription | GroupSubscription {
    if (options !== undefined && options !== null && "group" in options) return this.joinGroup(options);
    return this.follow(options as SubscribeOptions | undefined);
  }

  private joinGroup(options: GroupSubscribeOptions): GroupSubscription {
    if (this.closed) throw new ConfigError("reader", "is closed");
    const adapter = this.adapter;
    if (typeof adapter.coordination !== "function") {
      throw new ConfigError("group", `needs an adapter with coordination(): ${adapter.name} has none`);
    }
    const member = subscribeGroup(
      {
        adapter,
        coordinator: adapter.coordination(),
        shardIds: async () => {
          if (performance.now() - this.refreshedAt < this.refreshMs) return this.shardIds();
          await this.refreshShards().catch((error: unknown) => {
            this.logger.warn({ err: error }, "reader: refreshing the shard list failed; using the last one");
          });
          return this.shardIds();
        },
        logger: this.logger,
        timeoutMs: this.timeoutMs,
        signal: this.stop.signal,
        closed: (done) => this.members.delete(done),
      },
      options,
    );
    this.members.add(member);
    return member;
  }

  private follow(options: SubscribeOptions | undefined): Subscription {
    let timer: NodeJS.Timeout | undefined;
    return subscribe(
      {
        poll: (request) => this.poll(request),
        isClosed: () => this.closed,
        isDrained: () => this.closed,
        streamingAdapter: this.adapter.capabilities.streamingReads ? this.adapter : undefined,
        entryIds: this.adapter,
        shardIds: () => this.shardIds(),
        logger: this.logger,
        track: () => {
          // While a subscription runs, keep the shard set fresh in the background (unref'd).
          if (this.fixed === undefined) {
            timer = setInterval(() => {
              this.refreshShards().catch(() => {});
            }, this.refreshMs);
            timer.unref();
          }
          return () => clearInterval(timer);
        },
      },
      {
        ...options,
        signal:
          options?.signal === undefined
            ? this.stop.signal
            : AbortSignal.any([options.signal, this.stop.signal]),
      },
    );
  }

  /** Ends every subscription and shuts the adapter down. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    // Group members checkpoint and release their leases before the adapter goes.
    await Promise.all([...this.members].map((member) => member.close()));
    await withTimeout(`${this.adapter.name}.shutdown`, this.timeoutMs, () => this.adapter.shutdown()).catch(
      (error: unknown) => this.logger.warn({ err: error }, "reader: adapter shutdown failed"),
    );
  }

  /** `await using reader = await createReader(…)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Creates a consumer-only {@link Reader}: initialises the adapter, checks its capabilities, and
 * discovers the shards (unless `shards` is given). Throws `ConfigError` when the shards can be neither
 * given nor discovered.
 */
export async function createReader(options: ReaderOptions): Promise<Reader> {
  if (typeof options !== "object" || options === null) throw new ConfigError("options", "must be an object");
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.adapterTimeoutMs ?? 10_000;
  const refreshMs = options.shardRefreshMs ?? 1_000;
  if (!(Number.isFinite(refreshMs) && refreshMs > 0))
    throw new ConfigError("shardRefreshMs", "must be a number > 0");
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0))
    throw new ConfigError("adapterTimeoutMs", "must be a number > 0");
  const shards = options.shards;
  if (
    shards !== undefined &&
    (!Array.isArray(shards) || shards.some((id) => !Number.isInteger(id) || id < 0 || id > MAX_SHARD_ID))
  ) {
    throw new ConfigError("shards", `must be shard ids in [0, ${MAX_SHARD_ID}]`);
  }
  const adapter = acceptAdapter(options.adapter, logger);
  await withTimeout(`${adapter.name}.init`, timeoutMs, () =>
    adapter.init({ logger, adapterTimeoutMs: timeoutMs }),
  );
  try {
    const capabilities = checkCapabilities(adapter, logger);
    if (shards === undefined && !capabilities.listsShards) {
      throw new ConfigError("shards", `must be given: adapter ${adapter.name} cannot list its shards`);
    }
  } catch (error) {
    await adapter.shutdown().catch(() => {});
    throw error;
  }
  const reader = new Reader(
    adapter,
    shards === undefined ? undefined : [...new Set(shards)].sort((a, b) => a - b),
    refreshMs,
    timeoutMs,
    logger,
  );
  await reader.refreshShards();
  return reader;
}
