import type { Batch } from "./batch.js";
import type { Logger } from "./logger.js";

/**
 * Version of the adapter contract described here. An adapter declares the version it implements and
 * the bus refuses one it does not understand, so a contract change can never be half-honoured silently.
 */
export const ADAPTER_SPEC_VERSION = 1;

/** What the bus hands an adapter at {@link Adapter.init}. */
export interface AdapterContext {
  /** The bus's logger; adapters log through it (never to the console). */
  readonly logger: Logger;
  /**
   * The bus's bound on each adapter call, ms: keep your own command timeouts below it. Set by the bus;
   * absent when an adapter is initialised on its own (use your default then).
   */
  readonly adapterTimeoutMs?: number;
  /**
   * True when the producer nonce and sequences survive restarts (`producerStatePath`): dedup state for
   * this producer stays useful across restarts. False: a new process uses a new nonce. Set by the bus.
   */
  readonly persistentProducer?: boolean;
}

/** One event as read back from a backend. */
export interface StoredEvent {
  /**
   * The backend's id of the entry, unique and increasing within the shard (a Redis stream id,
   * a JetStream sequence, a Kinesis sequence number, …). It is the cursor for {@link Adapter.pollShard}.
   */
  readonly id: string;
  /** The shard the event was written to. */
  readonly shard: number;
  /** Insertion timestamp, microseconds since the Unix epoch (from {@link Batch.timestamps}). */
  readonly timestamp: number;
  /** The event's JSON text, byte for byte as ingested. */
  readonly json: string;
  /** The event's message id (see {@link Batch.messageId}), when the backend keeps it. */
  readonly messageId?: string;
}

/** One page of a shard, as returned by {@link Adapter.pollShard}. */
export interface ShardPage {
  /** Events after the requested id, oldest first, at most `limit` of them. */
  readonly events: readonly StoredEvent[];
  /**
   * The id to pass as `afterId` next time: the id of the last event returned, or of the last entry the
   * adapter examined and skipped (a corrupt record) within the limit. Never an entry that was not
   * examined. `undefined` when the page examined nothing, meaning "keep your cursor".
   */
  readonly nextId: string | undefined;
  /** True when entries exist after `nextId` (or after `afterId` when `nextId` is undefined). */
  readonly hasMore: boolean;
}

/**
 * The plugin contract between the bus and a durable backend. Implement it, declare
 * `specVersion: ADAPTER_SPEC_VERSION`, and run `@netmesh/adapter-testkit` against a real instance.
 *
 * Rules an adapter must honour:
 * 1. **Per-shard order.** Events of a shard are stored in the order of their batches and, inside a
 *    batch, in array order. The bus never has two batches of one shard in flight at once; batches of
 *    different shards may arrive concurrently.
 * 2. **All or nothing.** `onBatch` resolves only when every event of the batch is durably stored (as
 *    durable as the backend is); when it rejects, the bus assumes none or some were stored and may retry.
 * 3. **Idempotent under retry.** The bus retries a failed batch with the same object (same producer,
 *    shard, sequences and message ids). An adapter that declares dedup stores each message id once,
 *    even when a first attempt was applied but its reply was lost.
 * 4. **Classified failures.** Reject with an {@link AdapterError} subclass. Anything else is treated
 *    as transient and retried.
 * 5. **Bounded calls.** Never block indefinitely; honour the `AbortSignal` given to `onBatch` (the
 *    bus aborts it on timeout and will retry the batch). An attempt the bus abandoned may still reach
 *    the backend later, after the retry and even after later batches of the shard: dedup by message id
 *    (or per-producer sequence) is what makes that harmless.
 * 6. **Exclusive cursors.** `pollShard(shard, afterId, limit)` returns entries strictly after `afterId`
 *    (from the start when it is undefined), at most `limit`, with `nextId` as documented on {@link ShardPage}:
 *    the last entry returned or examined, never one beyond the limit. A `limit` that is not a positive
 *    integer, or an `afterId` the backend cannot have produced, rejects with a non-retryable error
 *    (`FatalError`).
 * 7. **Lifecycle.** `init` is idempotent. `shutdown` is idempotent; afterwards every other call
 *    (`init`, `onBatch`, `flush`, `pollShard`) rejects with `AdapterShutdownError` and `isHealthy`
 *    resolves false. Before `init`, `onBatch` and `pollShard` reject with a `FatalError`.
 * 8. **Own your data.** Copy what you keep: the bus owns the batch object and its arrays.
 * 9. **Shard ids** are integers in [0, 65534] and may be sparse (shards come and go).
 * 10. **Dedup across instances.** Dedup state lives in the backend, not in the adapter object, so a
 *    retry through a new adapter instance (a restarted process with a persisted producer state) is
 *    still stored once.
 */
export interface Adapter {
  /** Short, stable name used in logs and stats, e.g. `"redis"`. */
  readonly name: string;
  /** The contract version implemented: {@link ADAPTER_SPEC_VERSION}. */
  readonly specVersion: number;
  /** Connects and prepares the backend. Called once by the bus before any other method; idempotent. */
  init(context: AdapterContext): Promise<void>;
  /** Durably appends one batch (see the rules above). */
  onBatch(batch: Batch, signal: AbortSignal): Promise<void>;
  /** Resolves when everything accepted so far is durable (a no-op for write-through backends). */
  flush(): Promise<void>;
  /** Releases connections and resources. Idempotent. */
  shutdown(): Promise<void>;
  /** Reads up to `limit` events of `shard` strictly after `afterId`. */
  pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage>;
  /** True when the backend is reachable and the adapter is initialised and not shut down. */
  isHealthy(): Promise<boolean>;
}
