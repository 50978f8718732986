import type { Batch, BatchResult } from "./batch.js";
import type { AdapterCapabilities } from "./capabilities.js";
import type { GroupCoordinator } from "./group.js";
import type { Logger } from "./logger.js";

/**
 * Version of the adapter contract described here. An adapter declares the version it implements and
 * the bus refuses one it does not understand, so a contract change can never be half-honoured silently.
 */
export const ADAPTER_SPEC_VERSION = 2;

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
   * The backend's id of the entry, unique and increasing within the shard by `compareIds`: a
   * Redis stream id (`ms-seq`), a decimal number (a JetStream sequence, a Kinesis sequence number, of
   * any length), or another string that sorts in byte order (ULID, UUIDv7). It is the cursor for
   * {@link Adapter.pollShard}; the bus compares ids, so their order must be that of the rule.
   */
  readonly id: string;
  /** The shard the event was written to. */
  readonly shard: number;
  /** Insertion timestamp, integer microseconds since the Unix epoch (from {@link Batch.timestamps}), as a number. */
  readonly timestamp: number;
  /** The event's JSON text, byte for byte as ingested. */
  readonly json: string;
  /** The event's message id (see {@link Batch.messageId}), when the backend keeps it. */
  readonly messageId?: string;
}

/** One page of a shard, as returned by {@link Adapter.pollShard}. */
export interface ShardPage {
  /**
   * Events after the requested id, oldest first, at most `limit` of them. A page may hold fewer than
   * `limit` events (even none, after skipping corrupt entries) while `hasMore` is true: keep reading.
   */
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

/** Options of {@link Adapter.readShard}. */
export interface ReadShardOptions {
  /** Ends the iteration: the iterator returns (no error) promptly once it is aborted. */
  readonly signal: AbortSignal;
  /** The most events one yielded page may hold (a positive integer). */
  readonly limit: number;
}

/**
 * The plugin contract between the bus and a durable backend, version 2. Implement it (the
 * `AdapterBase` helper owns the lifecycle for you), declare `specVersion: ADAPTER_SPEC_VERSION`
 * and honest {@link AdapterCapabilities}, and run `@netmesh/adapter-testkit` against a real backend.
 *
 * Rules an adapter must honour:
 * 1. **Per-shard order.** Events of a shard are stored in the order of their batches and, inside a
 *    batch, in array order. The bus never has two batches of one shard in flight at once; batches of
 *    different shards may arrive concurrently.
 * 2. **Stored, or refused per event.** `onBatch` resolves when every event of the batch is durably
 *    stored (as durable as the backend is), except the events its {@link BatchResult} lists as
 *    rejected: those are not stored, now or on a later retry, and the others are stored in order. A
 *    problem of one event (too large, text the backend cannot hold) is reported for that event alone,
 *    never by failing the batch. When `onBatch` rejects, the bus assumes none or some events were
 *    stored and may retry.
 * 3. **Idempotent under retry.** The bus retries a failed batch with the same object (same producer,
 *    shard, sequences and message ids). With `capabilities.dedup` `"write"` each message id is stored
 *    once, even when a first attempt was applied but its reply was lost; with `"read"` it may be stored
 *    twice but is read once.
 * 4. **Classified failures.** Reject with an {@link AdapterError} subclass. Anything else is treated
 *    as transient and retried.
 * 5. **Bounded calls.** Never block indefinitely; honour the `AbortSignal` given to `onBatch`: reject
 *    at once when it is already aborted, and settle promptly when it aborts mid-call (the bus aborts it
 *    on timeout and will retry the batch). An attempt the bus abandoned may still reach the backend
 *    later, after the retry and even after later batches of the shard: dedup by message id (or
 *    per-producer sequence) is what makes that harmless.
 * 6. **Exclusive cursors.** `pollShard(shard, afterId, limit)` returns entries strictly after `afterId`
 *    (from the start when it is undefined), at most `limit`, with `nextId` as documented on {@link ShardPage}:
 *    the last entry returned or examined, never one beyond the limit. A `limit` that is not a positive
 *    integer, a shard outside rule 9, or an `afterId` the backend cannot have produced (malformed for
 *    its id format) rejects with a `FatalError`. A well-formed id past the end reads as an empty page.
 * 7. **Lifecycle.** `init` is idempotent, and concurrent calls share one attempt; a failed `init` may
 *    be called again. `shutdown` is idempotent; afterwards every other call (`init`, `onBatch`,
 *    `flush`, `pollShard`, `readShard`, `listShards`) rejects with `AdapterShutdownError`, open
 *    `readShard` iterations end, and `isHealthy` resolves false. Before `init`, `onBatch`, `flush`,
 *    `pollShard`, `readShard` and `listShards` reject with a `FatalError`. `isHealthy` never rejects.
 * 8. **Own your data.** Copy what you keep: the bus owns the batch object, its arrays and its bytes.
 * 9. **Shard ids** are integers in [0, 65534] and may be sparse (shards come and go).
 * 10. **Dedup across instances.** Dedup state lives in the backend, not in the adapter object, so a
 *    retry through a new adapter instance (a restarted process with a persisted producer state) is
 *    still stored (or read) once.
 * 11. **Visible in id order.** Once an entry of a shard is readable, every entry of that shard with a
 *    smaller id that will ever be readable already is: a new entry always gets an id greater than every
 *    id a reader may already have seen. A reader that moved its cursor past id X never misses an entry
 *    below X. (Ids taken from a counter before a transaction commits, such as a SQL `BIGSERIAL`, break
 *    this rule: two writers commit out of id order and a reader skips the late one for good.)
 * 12. **Honest capabilities.** {@link Adapter.capabilities} tells what the adapter does, is settled
 *    when `init` resolves, and never changes afterwards. The bus and the conformance suite rely on it.
 */
export interface Adapter {
  /** Short, stable name used in logs and stats, e.g. `"redis"`. */
  readonly name: string;
  /** The contract version implemented: {@link ADAPTER_SPEC_VERSION}. */
  readonly specVersion: number;
  /** What the adapter and its backend can do (rule 12). */
  readonly capabilities: AdapterCapabilities;
  /** Connects and prepares the backend. Called once by the bus before any other method; idempotent. */
  init(context: AdapterContext): Promise<void>;
  /**
   * Durably appends one batch (see the rules above). Resolves with nothing when every event was
   * stored, or with a {@link BatchResult} naming the events it refused.
   */
  onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void>;
  /** Resolves when everything accepted so far is durable (a no-op for write-through backends). */
  flush(): Promise<void>;
  /** Releases connections and resources. Idempotent. */
  shutdown(): Promise<void>;
  /** Reads up to `limit` events of `shard` strictly after `afterId`. */
  pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage>;
  /**
   * Follows `shard` from `afterId` (exclusive): yields pages in order, each continuing from the
   * previous page's `nextId`, and when caught up waits for new entries (a blocking read, a push
   * consumer, a notification) instead of polling. Each yielded page holds at least one event or moves
   * `nextId` forward. The iteration ends without an error when `options.signal` aborts or the adapter
   * shuts down, and throws an {@link @netmesh/core/adapter!AdapterError | AdapterError} on a failure
   * (resume from the last `nextId`). Present when `capabilities.streamingReads` is true.
   */
  readShard?(shard: number, afterId: string | undefined, options: ReadShardOptions): AsyncIterable<ShardPage>;
  /**
   * The ids of the shards that hold (or held) events in the backend, ascending, also shards written
   * by other processes and shards removed from a topology. Present when `capabilities.listsShards`.
   */
  listShards?(): Promise<readonly number[]>;
  /**
   * Optional, additive (no contract version change): the backend's lease, membership and checkpoint
   * store for consumer groups (see {@link GroupCoordinator}). Its presence is what enables
   * `reader.subscribe({ group, member })`; call it after `init`. The coordinator shares the adapter's
   * lifecycle: after `shutdown` its calls reject with `AdapterShutdownError`.
   */
  coordination?(): GroupCoordinator;
  /**
   * Optional, additive (no contract version change): whether `id` has the form of this backend's entry
   * ids — a check of the text alone, no backend call. It must hold for every `id` and `nextId` the
   * adapter returns. The bus uses it to refuse a cursor holding another backend's ids (a Redis stream id
   * handed to a JetStream bus) with `InvalidCursorError` when `poll` or `subscribe` is called; without
   * it, such a cursor is only found out when that shard's reads fail, on every poll.
   */
  isEntryId?(id: string): boolean;
  /** True when the backend is reachable and the adapter is initialised and not shut down. Never rejects. */
  isHealthy(): Promise<boolean>;
}
