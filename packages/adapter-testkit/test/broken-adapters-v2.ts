/**
 * Deliberately broken adapters for the contract-v2 cases: each breaks one v2 rule the way real
 * adapters do. The proofs require the matching case to fail and MemoryAdapter to pass it.
 */
import {
  AdapterBase,
  type AdapterCapabilities,
  type Batch,
  type BatchResult,
  FatalError,
  type ReadShardOptions,
  SerializationError,
  type ShardPage,
  type StoredEvent,
  TransientError,
} from "@netmesh/core/adapter";
import { Delegating } from "./broken-adapters.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The `BIGSERIAL` trap (rule 11): ids come from a counter taken when a write starts, but rows become
 * visible when the write "commits", a little later and in no particular order. A single writer never
 * notices; a reader following two concurrent writers skips rows for good. Otherwise correct, with
 * per-producer dedup like MemoryAdapter.
 */
export class LateVisibility extends AdapterBase {
  readonly name = "late-visibility";
  readonly capabilities: AdapterCapabilities = {
    readable: true,
    dedup: "write",
    dedupWindowMs: Number.POSITIVE_INFINITY,
    persistent: true,
    ordering: "none",
    maxEventBytes: Number.POSITIVE_INFINITY,
    streamingReads: false,
    listsShards: false,
  };
  constructor(
    private readonly table: { rows: Map<number, (StoredEvent | undefined)[]>; next: Map<string, number> },
  ) {
    super();
  }
  protected async open(): Promise<void> {}
  protected async close(): Promise<void> {}
  protected async write(batch: Batch): Promise<void> {
    const rows = this.table.rows.get(batch.shard) ?? [];
    this.table.rows.set(batch.shard, rows);
    const key = `${batch.producer}:${batch.shard}`;
    const skip = Math.max(0, (this.table.next.get(key) ?? 0) - batch.firstSequence);
    this.table.next.set(key, Math.max(this.table.next.get(key) ?? 0, batch.firstSequence + batch.size));
    const start = rows.length;
    const count = Math.max(0, batch.size - skip);
    rows.length += count; // "nextval()": ids reserved now, rows invisible until commit
    await sleep(Math.random() * 4);
    for (let i = 0; i < count; i++) {
      const index = skip + i;
      rows[start + i] = {
        id: String(start + i + 1),
        shard: batch.shard,
        timestamp: batch.timestamps[index]!,
        json: batch.events[index]!,
        messageId: batch.messageId(index),
      };
    }
  }
  protected async read(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (afterId !== undefined && !/^[1-9]\d*$/.test(afterId)) throw new FatalError(`bad id ${afterId}`);
    const rows = this.table.rows.get(shard) ?? [];
    const visible = rows
      .slice(afterId === undefined ? 0 : Number(afterId))
      .filter((row) => row !== undefined);
    const events = visible.slice(0, limit) as StoredEvent[];
    return { events, nextId: events.at(-1)?.id, hasMore: visible.length > limit };
  }
}

/** Stores a batch even when its signal was aborted before the call (rule 5). */
export class IgnoresAbortedSignal extends Delegating {
  override onBatch(batch: Batch): Promise<BatchResult | void> {
    return this.inner.onBatch(batch, new AbortController().signal);
  }
}

/** Takes 3 s per batch and never looks at its signal (rule 5). */
export class SlowIgnoringSignal extends Delegating {
  override async onBatch(batch: Batch): Promise<BatchResult | void> {
    if (batch.size >= 1000) await sleep(3_000);
    return this.inner.onBatch(batch, new AbortController().signal);
  }
}

/** Parses cursors leniently (`parseInt`): malformed ids read as positions instead of failing (rule 6). */
export class LaxCursors extends Delegating {
  override pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    const lenient =
      afterId === undefined ? undefined : String(Math.max(0, Number.parseInt(afterId.trim(), 10) || 0));
    return this.inner.pollShard(shard, lenient, limit);
  }
}

/** Reads any shard number, in range or not, as an empty shard (rule 9). */
export class NoShardRange extends Delegating {
  override pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (!Number.isInteger(shard) || shard < 0 || shard > 65_534) {
      return Promise.resolve({ events: [], nextId: undefined, hasMore: false });
    }
    return this.inner.pollShard(shard, afterId, limit);
  }
}

/** Declares a size limit, then fails the whole batch for one oversize event (rule 2). */
export class OversizeFailsBatch extends Delegating {
  static readonly LIMIT = 20_000;
  constructor(name: string, inner: Delegating["inner"]) {
    super(name, inner, { maxEventBytes: OversizeFailsBatch.LIMIT });
  }
  override onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    if (batch.events.some((text) => Buffer.byteLength(text) > OversizeFailsBatch.LIMIT)) {
      return Promise.reject(new SerializationError("payload too large"));
    }
    return this.inner.onBatch(batch, signal);
  }
}

/** Declares a size limit but refuses events at the limit itself (an off-by-one, rule 12). */
export class RefusesAtLimit extends Delegating {
  static readonly LIMIT = 20_000;
  constructor(name: string, inner: Delegating["inner"]) {
    super(name, inner, { maxEventBytes: RefusesAtLimit.LIMIT });
  }
  override async onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    const rejected = batch.events.flatMap((text, index) =>
      Buffer.byteLength(text) >= RefusesAtLimit.LIMIT ? [{ index, reason: "tooLarge" as const }] : [],
    );
    if (rejected.length === 0) return this.inner.onBatch(batch, signal);
    throw new TransientError("would need a per-event store; not reached by the proof");
  }
}

/** Fails a whole batch that holds a lone surrogate (what a strict UTF-8 encoder does). */
export class SurrogateFailsBatch extends Delegating {
  override onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    if (batch.events.some((text) => /\p{Cs}/u.test(text))) {
      return Promise.reject(new SerializationError("invalid UTF-16 in event text"));
    }
    return this.inner.onBatch(batch, signal);
  }
}

/** Learns a "limit" on its first write and changes its capabilities then (rule 12). */
export class DriftingCapabilities extends Delegating {
  override onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    Object.assign(this, { capabilities: { ...this.inner.capabilities, maxEventBytes: 65_536 } });
    return this.inner.onBatch(batch, signal);
  }
}

/** A streaming read that ignores its signal and the adapter's shutdown: it waits for ever. */
export class StreamNeverEnds extends Delegating {
  override async *readShard(
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    const live = new AbortController().signal;
    yield* this.inner.readShard!(shard, afterId, { limit: options.limit, signal: live });
  }
}

/** A streaming read that loses the first event of every page after the first (a bad resume). */
export class StreamSkips extends Delegating {
  override async *readShard(
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    let pages = 0;
    for await (const page of this.inner.readShard!(shard, afterId, options)) {
      yield pages++ === 0 ? page : { ...page, events: page.events.slice(1) };
    }
  }
}

/** Lists a shard nobody wrote besides the real ones. */
export class ListsExtraShard extends Delegating {
  override async listShards(): Promise<readonly number[]> {
    return [...(await this.inner.listShards!()), 65_534];
  }
}

/**
 * Simulated faults shared by every adapter of one suite, for proving the fault cases:
 * `loseNextReply` makes the next `onBatch` store its batch and then fail, as a lost reply does;
 * `restartBackend` makes calls fail with a retryable error for 200 ms.
 */
export class FaultSwitch {
  loseNext = false;
  downUntil = 0;
  readonly hooks = {
    loseNextReply: () => {
      this.loseNext = true;
    },
    restartBackend: async () => {
      this.downUntil = performance.now() + 200;
      await sleep(250);
    },
  };
  get down(): boolean {
    return performance.now() < this.downUntil;
  }
}

/** An adapter under a {@link FaultSwitch}; whether a retry then doubles events is the inner adapter's. */
export class SimulatedFaults extends Delegating {
  constructor(
    name: string,
    inner: Delegating["inner"],
    private readonly faults: FaultSwitch,
  ) {
    super(name, inner);
  }
  override async onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    if (this.faults.down) throw new TransientError("backend restarting");
    const result = await this.inner.onBatch(batch, signal);
    if (!this.faults.loseNext) return result;
    this.faults.loseNext = false;
    throw new TransientError("connection lost before the reply");
  }
  override pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (this.faults.down) return Promise.reject(new TransientError("backend restarting"));
    return this.inner.pollShard(shard, afterId, limit);
  }
}
