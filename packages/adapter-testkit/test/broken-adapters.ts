/**
 * Deliberately broken adapters: `MemoryAdapter` with one bug each, the kind real adapters have. The
 * proofs run the suite's cases against them and require the right cases to fail.
 */
import {
  ADAPTER_SPEC_VERSION,
  type Adapter,
  type AdapterCapabilities,
  type AdapterContext,
  AdapterShutdownError,
  type Batch,
  type BatchResult,
  FatalError,
  type ReadShardOptions,
  type ShardPage,
  type StoredEvent,
  TransientError,
  encodeBatchTexts,
} from "@netmesh/core/adapter";
import { MemoryAdapter, MemoryStore } from "@netmesh/core";

/**
 * Passes every call through to a `MemoryAdapter`; subclasses override the one they break. Declares
 * the inner adapter's capabilities, with `declare` applied on top.
 */
export class Delegating implements Adapter {
  readonly specVersion = ADAPTER_SPEC_VERSION;
  readonly capabilities: AdapterCapabilities;
  constructor(
    readonly name: string,
    readonly inner: Adapter,
    declare: Partial<AdapterCapabilities> = {},
  ) {
    this.capabilities = { ...inner.capabilities, ...declare };
  }
  init(context: AdapterContext): Promise<void> {
    return this.inner.init(context);
  }
  onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    return this.inner.onBatch(batch, signal);
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    return this.inner.pollShard(shard, afterId, limit);
  }
  isHealthy(): Promise<boolean> {
    return this.inner.isHealthy();
  }
  readShard(shard: number, afterId: string | undefined, options: ReadShardOptions): AsyncIterable<ShardPage> {
    return this.inner.readShard!(shard, afterId, options);
  }
  listShards(): Promise<readonly number[]> {
    return this.inner.listShards!();
  }
}

/** A batch like `batch` but with other events (and their timestamps) at the same sequences. */
function withEvents(batch: Batch, indexes: readonly number[]): Batch {
  const events = indexes.map((i) => batch.events[i]!);
  const timestamps = Float64Array.from(indexes, (i) => batch.timestamps[i]!);
  return {
    shard: batch.shard,
    producer: batch.producer,
    firstSequence: batch.firstSequence,
    size: events.length,
    events,
    timestamps,
    messageId: (index) => batch.messageId(index),
    bytes: () => encodeBatchTexts(events),
  };
}

/** Stores each batch's events in reverse order (a parallel write that lets the last one win). */
export class Reordering extends Delegating {
  override onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    const reversed = batch.events.map((_, i) => batch.events.length - 1 - i);
    return this.inner.onBatch(withEvents(batch, reversed), signal);
  }
}

/** Treats `afterId` as inclusive: the page starts with the event the cursor names. */
export class InclusiveCursor extends Delegating {
  override pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    return this.inner.pollShard(
      shard,
      afterId === undefined ? undefined : String(Number(afterId) - 1),
      limit,
    );
  }
}

/** Loses one event: the second of the first batch that has two or more. */
export class DropsOneEvent extends Delegating {
  private dropped = false;
  override onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    if (this.dropped || batch.events.length < 2) return this.inner.onBatch(batch, signal);
    this.dropped = true;
    const kept = [...batch.events.keys()].filter((i) => i !== 1);
    return this.inner.onBatch(withEvents(batch, kept), signal);
  }
}

/** `shutdown()` does nothing: the adapter keeps accepting work and reporting healthy. */
export class IgnoresShutdown extends Delegating {
  override async shutdown(): Promise<void> {}
}

/**
 * A small hand-written adapter without dedup: it appends every batch, retries included, and is
 * otherwise correct. Data lives in `log`, shared per namespace like a backend.
 */
export class NoDedup implements Adapter {
  readonly name = "no-dedup";
  readonly specVersion = ADAPTER_SPEC_VERSION;
  readonly capabilities: AdapterCapabilities;
  private state: "new" | "ready" | "closed" = "new";
  constructor(
    private readonly log: Map<number, StoredEvent[]>,
    /** Store each batch's events in reverse order (each keeps its own message id): an unordered backend. */
    private readonly reverse = false,
    /** What it claims; by default the truth (no dedup, ordered unless `reverse`). */
    declare: Partial<AdapterCapabilities> = {},
  ) {
    this.capabilities = {
      readable: true,
      dedup: "none",
      dedupWindowMs: 0,
      persistent: true,
      ordering: reverse ? "none" : "shard",
      maxEventBytes: Number.POSITIVE_INFINITY,
      streamingReads: false,
      listsShards: false,
      ...declare,
    };
  }
  async init(): Promise<void> {
    if (this.state === "closed") throw new AdapterShutdownError();
    this.state = "ready";
  }
  async onBatch(batch: Batch, signal: AbortSignal): Promise<void> {
    this.assertReady();
    if (signal.aborted) throw new TransientError("aborted");
    const events = this.log.get(batch.shard) ?? [];
    this.log.set(batch.shard, events);
    const order = [...batch.events.keys()];
    if (this.reverse) order.reverse();
    for (const i of order) {
      const id = String(events.length + 1);
      const json = batch.events[i]!;
      events.push({
        id,
        shard: batch.shard,
        timestamp: batch.timestamps[i]!,
        json,
        messageId: batch.messageId(i),
      });
    }
  }
  async flush(): Promise<void> {
    this.assertReady();
  }
  async shutdown(): Promise<void> {
    this.state = "closed";
  }
  async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    this.assertReady();
    if (!Number.isInteger(limit) || limit < 1) throw new FatalError(`bad limit ${limit}`);
    if (!Number.isInteger(shard) || shard < 0 || shard > 65_534) throw new FatalError(`bad shard ${shard}`);
    if (afterId !== undefined && !/^[1-9]\d*$/.test(afterId)) throw new FatalError(`bad cursor ${afterId}`);
    const all = this.log.get(shard) ?? [];
    const start = afterId === undefined ? 0 : Number(afterId);
    const events = all.slice(start, start + limit);
    return { events, nextId: events.at(-1)?.id, hasMore: start + events.length < all.length };
  }
  async isHealthy(): Promise<boolean> {
    return this.state === "ready";
  }
  private assertReady(): void {
    if (this.state === "closed") throw new AdapterShutdownError();
    if (this.state === "new") throw new FatalError("used before init()");
  }
}

/** Keeps the batch object and reads its arrays only later: mutations after onBatch leak in (rule 8). */
export class KeepsReferences extends Delegating {
  private readonly held: Batch[] = [];
  override async onBatch(batch: Batch): Promise<void> {
    this.held.push(batch);
  }
  override async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    for (const batch of this.held.splice(0)) await this.inner.onBatch(batch, new AbortController().signal);
    return this.inner.pollShard(shard, afterId, limit);
  }
}

/** Re-serializes events (`JSON.stringify(JSON.parse(json))`): same data, different bytes. */
export class Reserializes extends Delegating {
  override onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    const copy = withEvents(batch, [...batch.events.keys()]);
    const events = copy.events.map((json) => JSON.stringify(JSON.parse(json)));
    return this.inner.onBatch({ ...copy, events, bytes: () => encodeBatchTexts(events) }, signal);
  }
}

/** Computes `hasMore` as "the page is full", the classic off-by-one at the limit boundary. */
export class HasMoreWhenFull extends Delegating {
  override async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    const page = await this.inner.pollShard(shard, afterId, limit);
    return { ...page, hasMore: page.events.length === limit };
  }
}

/** Claims an id form its own ids do not have, so the bus would refuse its own cursors. */
export class WrongEntryIdForm extends Delegating {
  isEntryId(id: string): boolean {
    return /^[a-z]+$/.test(id);
  }
}

/** Says which ids are its own, but reads after any id, its own or not, as the empty page. */
export class ReadsForeignIds extends Delegating {
  isEntryId(id: string): boolean {
    return /^[1-9]\d*$/.test(id);
  }
  override async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (afterId !== undefined && !this.isEntryId(afterId)) return { events: [], nextId: undefined, hasMore: false };
    return this.inner.pollShard(shard, afterId, limit);
  }
}

/** After shutdown, rejects with a retryable error, so the bus would retry into a closed adapter. */
export class RetryableAfterShutdown extends Delegating {
  private closed = false;
  override async shutdown(): Promise<void> {
    this.closed = true;
  }
  override async onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    if (this.closed) throw new TransientError("connection closed");
    return this.inner.onBatch(batch, signal);
  }
  override async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (this.closed) throw new TransientError("connection closed");
    return this.inner.pollShard(shard, afterId, limit);
  }
}

/** Rejects a bad limit with a plain `RangeError`, which the bus would classify as retryable. */
export class UnclassifiedErrors extends Delegating {
  override async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`bad limit ${limit}`);
    return this.inner.pollShard(shard, afterId, limit);
  }
}

/** A factory per namespace over shared stores, so persistence holds unless a wrapper breaks it. */
export function sharedStores(): (namespace: string) => MemoryAdapter {
  const stores = new Map<string, MemoryStore>();
  return (namespace) => {
    let store = stores.get(namespace);
    if (store === undefined) {
      store = new MemoryStore();
      stores.set(namespace, store);
    }
    return new MemoryAdapter({ store });
  };
}

/** Per-namespace logs for {@link NoDedup}. */
export function sharedLogs(): (namespace: string) => Map<number, StoredEvent[]> {
  const logs = new Map<string, Map<number, StoredEvent[]>>();
  return (namespace) => {
    const log = logs.get(namespace) ?? new Map<number, StoredEvent[]>();
    logs.set(namespace, log);
    return log;
  };
}
