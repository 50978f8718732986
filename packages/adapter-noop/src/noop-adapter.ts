import { type AdapterCapabilities, AdapterBase, type Batch, type ShardPage } from "@netmesh/core/adapter";

/** The page every poll returns: a discarding adapter has nothing to read back. Frozen, so it can be shared. */
const EMPTY_PAGE: ShardPage = Object.freeze({ events: Object.freeze([]), nextId: undefined, hasMore: false });

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  readable: false,
  dedup: "none",
  dedupWindowMs: 0,
  persistent: false,
  ordering: "shard",
  maxEventBytes: Number.POSITIVE_INFINITY,
  streamingReads: false,
  listsShards: false,
  // It reads neither form: texts queued by reference cost nothing to drop.
  payload: "text",
});

/**
 * An adapter that stores nothing: every batch is accepted at once and discarded, but counted, so a
 * benchmark can check that the bus delivered what it accepted without measuring a backend.
 *
 * - {@link NoopAdapter.batches} and {@link NoopAdapter.events} count the `onBatch` calls it accepted and
 *   the events in them. A retried batch is counted again, as it is delivered again; with no failures,
 *   `events` equals the bus's `stats().dispatched`.
 * - `pollShard` always returns an empty page (`{ events: [], nextId: undefined, hasMore: false }`), and
 *   its capabilities say so (`readable: false`).
 * - Lifecycle as the contract requires (it extends `AdapterBase`): `isHealthy()` is false before
 *   `init`, true after it and false after `shutdown`; `init` and `shutdown` are idempotent; after
 *   `shutdown` every call rejects with `AdapterShutdownError`; before `init` with a `FatalError`.
 * - An `onBatch` whose signal is already aborted is refused (a retryable `TransientError`) and not counted.
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
export class NoopAdapter extends AdapterBase {
  /** Always `"noop"`. */
  readonly name = "noop";
  /** Write-only, no dedup, no size limit. */
  readonly capabilities = CAPABILITIES;
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

  protected async open(): Promise<void> {}

  /** Counts the batch and forgets it. */
  protected async write(batch: Batch): Promise<void> {
    this.batchCount++;
    this.eventCount += batch.size;
  }

  /** Always an empty page: nothing was kept. */
  protected async read(): Promise<ShardPage> {
    return EMPTY_PAGE;
  }

  protected async close(): Promise<void> {}
}
