import {
  ADAPTER_SPEC_VERSION,
  type Adapter,
  type AdapterContext,
  AdapterShutdownError,
  type Batch,
  FatalError,
  type ShardPage,
  TransientError,
} from "@netmesh/core/adapter";

/** The page every poll returns: a discarding adapter has nothing to read back. Frozen, so it can be shared. */
const EMPTY_PAGE: ShardPage = Object.freeze({ events: Object.freeze([]), nextId: undefined, hasMore: false });

/**
 * An adapter that stores nothing: every batch is accepted at once and discarded, but counted, so a
 * benchmark can check that the bus delivered what it accepted without measuring a backend.
 *
 * - {@link NoopAdapter.batches} and {@link NoopAdapter.events} count the `onBatch` calls it accepted and
 *   the events in them. A retried batch is counted again, as it is delivered again; with no failures,
 *   `events` equals the bus's `stats().dispatched`.
 * - `pollShard` always returns an empty page (`{ events: [], nextId: undefined, hasMore: false }`).
 * - Lifecycle as the contract requires: `isHealthy()` is false before `init`, true after it and false
 *   after `shutdown`; `init` and `shutdown` are idempotent; after `shutdown`, `onBatch`, `pollShard`
 *   and `flush` reject with `AdapterShutdownError`, and so does `init`.
 * - Used before `init`, `onBatch` rejects with a `FatalError` (a caller bug, not worth retrying).
 * - `pollShard` with a `limit` that is not a positive integer rejects with a `FatalError`.
 *
 * @example
 * ```ts
 * const adapter = new NoopAdapter();
 * const bus = await createBus({ adapter });
 * bus.ingest({ hello: "world" });
 * await bus.flush();
 * adapter.events; // 1
 * ```
 */
export class NoopAdapter implements Adapter {
  /** Always `"noop"`. */
  readonly name = "noop";
  /** The contract version implemented. */
  readonly specVersion = ADAPTER_SPEC_VERSION;
  private state: "new" | "ready" | "closed" = "new";
  private batchCount = 0;
  private eventCount = 0;

  /** Number of `onBatch` calls accepted (empty batches and retries included). */
  get batches(): number {
    return this.batchCount;
  }

  /** Number of events in the accepted batches. */
  get events(): number {
    return this.eventCount;
  }

  /** Marks the adapter ready; idempotent. Rejects with `AdapterShutdownError` after `shutdown`. */
  async init(_context?: AdapterContext): Promise<void> {
    if (this.state === "closed") throw new AdapterShutdownError();
    this.state = "ready";
  }

  /** Counts the batch and forgets it. */
  async onBatch(batch: Batch, signal: AbortSignal): Promise<void> {
    this.assertReady("onBatch");
    // An attempt the bus has already abandoned must not be counted as a delivery.
    if (signal.aborted)
      throw new TransientError("onBatch aborted before it started", { cause: signal.reason });
    this.batchCount++;
    this.eventCount += batch.events.length;
  }

  /** Nothing is buffered, so nothing to wait for. Rejects with `AdapterShutdownError` after `shutdown`. */
  async flush(): Promise<void> {
    if (this.state === "closed") throw new AdapterShutdownError();
  }

  /** Stops accepting work; idempotent. The counters keep their values. */
  async shutdown(): Promise<void> {
    this.state = "closed";
  }

  /** Always an empty page: nothing was kept. */
  async pollShard(_shard: number, _afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (this.state === "closed") throw new AdapterShutdownError();
    if (!Number.isInteger(limit) || limit < 1)
      throw new FatalError(`limit must be a positive integer, got ${limit}`);
    return EMPTY_PAGE;
  }

  /** True between `init` and `shutdown`. */
  async isHealthy(): Promise<boolean> {
    return this.state === "ready";
  }

  private assertReady(method: string): void {
    if (this.state === "closed") throw new AdapterShutdownError();
    if (this.state === "new") throw new FatalError(`NoopAdapter.${method}() called before init()`);
  }
}
