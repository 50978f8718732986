import type { AdapterContext, ReadShardOptions, ShardPage } from "../contract/adapter.js";
import { AdapterBase } from "../contract/adapter-base.js";
import { FatalError } from "../contract/adapter-errors.js";
import type { Batch } from "../contract/batch.js";
import type { AdapterCapabilities } from "../contract/capabilities.js";
import type { GroupCoordinator } from "../contract/group.js";
import { memoryCoordinator } from "./memory-coordinator.js";
import { MemoryStore } from "./memory-store.js";

/** Options of {@link MemoryAdapter}. */
export interface MemoryAdapterOptions {
  /** The store to write to; share one between adapters to read what another wrote. Default: a new one. */
  readonly store?: MemoryStore;
  /** Keep at most this many events per shard, trimming the oldest. Default: unbounded. */
  readonly maxLength?: number;
}

const ENTRY_ID = /^(0|[1-9]\d{0,15})$/;

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  readable: true,
  dedup: "write",
  dedupWindowMs: Number.POSITIVE_INFINITY,
  // The store outlives any adapter over it, as a backend outlives a connection (not the process).
  persistent: true,
  ordering: "shard",
  maxEventBytes: Number.POSITIVE_INFINITY,
  streamingReads: true,
  listsShards: true,
  // The store keeps JSON strings: queued texts reach it as they are, never encoded.
  payload: "text",
});

/**
 * The embedded default adapter: keeps events in process memory, per shard, with exclusive cursors and
 * dedup of retried batches (per producer and shard, by sequence number, in O(1) memory per producer).
 * Entry ids are decimal positions in the shard's history: `"1"`, `"2"`, … Streaming reads wake on the
 * append itself, so a follower sees an event as soon as its batch is stored.
 */
export class MemoryAdapter extends AdapterBase {
  readonly name = "memory";
  readonly capabilities = CAPABILITIES;
  /** Where the events live. */
  readonly store: MemoryStore;
  private readonly maxLength: number | undefined;

  constructor(options: MemoryAdapterOptions = {}) {
    super();
    const { maxLength } = options;
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0)) {
      throw new RangeError(`MemoryAdapter maxLength must be a positive integer, got ${String(maxLength)}`);
    }
    this.store = options.store ?? new MemoryStore();
    this.maxLength = maxLength;
  }

  protected async open(_context: AdapterContext): Promise<void> {}

  protected async write(batch: Batch): Promise<void> {
    this.store.append(
      batch.shard,
      batch.producer,
      batch.firstSequence,
      batch.events,
      batch.timestamps,
      this.maxLength,
    );
  }

  protected async read(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    return this.page(shard, position(afterId), limit);
  }

  protected override async *follow(
    shard: number,
    afterId: string | undefined,
    { signal, limit }: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    let after = position(afterId);
    while (!signal.aborted) {
      const page = this.page(shard, after, limit);
      if (page.events.length === 0) {
        // Registered in the same tick as the empty read: no append can fall between the two.
        await this.store.nextAppend(shard, signal);
        continue;
      }
      after = Number(page.nextId);
      yield page;
    }
  }

  /** Whether `id` is a memory entry id: a decimal position without leading zeros (`"0"` is the start). */
  isEntryId(id: string): boolean {
    return ENTRY_ID.test(id);
  }

  protected override async discoverShards(): Promise<readonly number[]> {
    return this.store.shardIds();
  }

  protected async close(): Promise<void> {}

  /**
   * Consumer-group coordination kept in the store: readers over one store form a group, as processes
   * over one backend do. Calls reject with `AdapterShutdownError` before `init` and after `shutdown`.
   */
  coordination(): GroupCoordinator {
    this.coordinator ??= memoryCoordinator(this.store.groups, () => this.isReady);
    return this.coordinator;
  }
  private coordinator: GroupCoordinator | undefined;

  private page(shard: number, after: number, limit: number): ShardPage {
    const { events, hasMore } = this.store.read(shard, after, limit);
    return { events, nextId: events.at(-1)?.id, hasMore };
  }
}

/** The numeric position of a memory entry id (`0` for the start); `FatalError` for any other string. */
function position(afterId: string | undefined): number {
  if (afterId === undefined) return 0;
  if (!ENTRY_ID.test(afterId)) throw new FatalError(`invalid memory entry id ${JSON.stringify(afterId)}`);
  return Number(afterId);
}
