import {
  ADAPTER_SPEC_VERSION,
  type Adapter,
  type AdapterContext,
  type ShardPage,
} from "../contract/adapter.js";
import { AdapterShutdownError, FatalError } from "../contract/adapter-errors.js";
import type { Batch } from "../contract/batch.js";
import { MemoryStore } from "./memory-store.js";

/** Options of {@link MemoryAdapter}. */
export interface MemoryAdapterOptions {
  /** The store to write to; share one between adapters to read what another wrote. Default: a new one. */
  readonly store?: MemoryStore;
  /** Keep at most this many events per shard, trimming the oldest. Default: unbounded. */
  readonly maxLength?: number;
}

const ENTRY_ID = /^(0|[1-9]\d{0,15})$/;

/**
 * The embedded default adapter: keeps events in process memory, per shard, with exclusive cursors and
 * dedup of retried batches (per producer and shard, by sequence number, in O(1) memory per producer).
 * Entry ids are decimal positions in the shard's history: `"1"`, `"2"`, …
 */
export class MemoryAdapter implements Adapter {
  readonly name = "memory";
  readonly specVersion = ADAPTER_SPEC_VERSION;
  /** Where the events live. */
  readonly store: MemoryStore;
  private readonly maxLength: number | undefined;
  private state: "new" | "ready" | "closed" = "new";

  constructor(options: MemoryAdapterOptions = {}) {
    const { maxLength } = options;
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0)) {
      throw new RangeError(`MemoryAdapter maxLength must be a positive integer, got ${String(maxLength)}`);
    }
    this.store = options.store ?? new MemoryStore();
    this.maxLength = maxLength;
  }

  async init(_context?: AdapterContext): Promise<void> {
    if (this.state === "closed") throw new AdapterShutdownError();
    this.state = "ready";
  }

  async onBatch(batch: Batch, _signal?: AbortSignal): Promise<void> {
    this.assertOpen();
    this.store.append(
      batch.shard,
      batch.producer,
      batch.firstSequence,
      batch.events,
      batch.timestamps,
      this.maxLength,
    );
  }

  async flush(): Promise<void> {
    if (this.state === "closed") throw new AdapterShutdownError();
  }

  async shutdown(): Promise<void> {
    this.state = "closed";
  }

  async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    this.assertOpen();
    if (!Number.isInteger(limit) || limit < 1)
      throw new FatalError(`limit must be a positive integer, got ${limit}`);
    let after = 0;
    if (afterId !== undefined) {
      if (!ENTRY_ID.test(afterId)) throw new FatalError(`invalid memory entry id ${JSON.stringify(afterId)}`);
      after = Number(afterId);
    }
    const { events, hasMore } = this.store.read(shard, after, limit);
    const last = events.at(-1);
    return { events, nextId: last?.id, hasMore };
  }

  async isHealthy(): Promise<boolean> {
    return this.state === "ready";
  }

  private assertOpen(): void {
    if (this.state === "closed") throw new AdapterShutdownError();
    if (this.state === "new") throw new FatalError("MemoryAdapter used before init()");
  }
}
