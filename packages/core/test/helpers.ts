import type { Adapter, ShardPage, StoredEvent } from "../src/contract/adapter.js";
import { ADAPTER_SPEC_VERSION } from "../src/contract/adapter.js";
import type { Batch, BatchResult } from "../src/contract/batch.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";

/** Reads every stored event of a shard by paging with `limit`. */
export async function readShard(adapter: Adapter, shard: number, limit = 1000): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page: ShardPage = await adapter.pollShard(shard, cursor, limit);
    events.push(...page.events);
    if (page.nextId !== undefined) cursor = page.nextId;
    if (!page.hasMore) return events;
  }
}

/** Reads every stored event of a store, all shards, through a fresh adapter. */
export async function readStore(store: MemoryStore): Promise<StoredEvent[]> {
  const reader = new MemoryAdapter({ store });
  await reader.init();
  const all: StoredEvent[] = [];
  for (const shard of store.shardIds()) all.push(...(await readShard(reader, shard)));
  return all;
}

/** What a {@link ScriptedAdapter} does on one `onBatch` call. */
export type Step =
  | "ok"
  | "hang"
  | Error
  | ((batch: Batch, signal: AbortSignal) => Promise<BatchResult | void>);

/** A signal that never aborts, for calling `onBatch` directly. */
export const liveSignal = new AbortController().signal;

/**
 * An adapter over a MemoryStore whose `onBatch` follows a script: each call takes the next step
 * (the last step repeats). Records every call and every lifecycle call.
 */
export class ScriptedAdapter implements Adapter {
  readonly name = "scripted";
  readonly specVersion = ADAPTER_SPEC_VERSION;
  readonly capabilities: Adapter["capabilities"];
  readonly inner: MemoryAdapter;
  readonly calls: { shard: number; firstSequence: number; size: number; at: number }[] = [];
  readonly batches: Batch[] = [];
  flushCalls = 0;
  shutdownCalls = 0;
  private step = 0;

  constructor(
    private readonly script: readonly Step[] = ["ok"],
    readonly store = new MemoryStore(),
    declare: Partial<Adapter["capabilities"]> = {},
  ) {
    this.inner = new MemoryAdapter({ store });
    this.capabilities = { ...this.inner.capabilities, streamingReads: false, listsShards: false, ...declare };
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  async onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    this.calls.push({
      shard: batch.shard,
      firstSequence: batch.firstSequence,
      size: batch.events.length,
      at: Date.now(),
    });
    this.batches.push(batch);
    const step = this.script[Math.min(this.step++, this.script.length - 1)]!;
    if (step === "ok") return this.inner.onBatch(batch, liveSignal);
    if (step === "hang") {
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    }
    if (step instanceof Error) throw step;
    return step(batch, signal);
  }

  flush(): Promise<void> {
    this.flushCalls++;
    return this.inner.flush();
  }

  shutdown(): Promise<void> {
    this.shutdownCalls++;
    return this.inner.shutdown();
  }

  pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    return this.inner.pollShard(shard, afterId, limit);
  }

  isHealthy(): Promise<boolean> {
    return this.inner.isHealthy();
  }
}

/** Options that make batching deterministic and fast in tests. */
export const fastRetries = { retryBaseDelayMs: 1, retryMaxDelayMs: 4 } as const;

/** Yields to the event loop `times` times (lets pumps run). */
export async function ticks(times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A logger that keeps every line, for tests that check what was logged. */
export function capturingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push({ level, fields, message });
  };
  return { logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}
