import {
  ADAPTER_SPEC_VERSION,
  type Adapter,
  type AdapterContext,
  type ReadShardOptions,
  type ShardPage,
} from "./adapter.js";
import { AdapterShutdownError, FatalError, TransientError } from "./adapter-errors.js";
import type { Batch, BatchResult } from "./batch.js";
import type { AdapterCapabilities } from "./capabilities.js";
import { type Logger, silentLogger } from "./logger.js";

/** The highest shard id (contract rule 9). */
export const MAX_SHARD_ID = 0xfffe;

type LifecycleState = "new" | "opening" | "ready" | "closed";

/**
 * The lifecycle every adapter needs, written once (contract rules 5, 6, 7 and 9), so an adapter
 * implements only its backend: {@link AdapterBase.open}, {@link AdapterBase.write},
 * {@link AdapterBase.read} and {@link AdapterBase.close}, plus the optional hooks.
 *
 * What it does for you:
 * - `init` runs `open` once; concurrent calls share it; a failed `open` leaves the adapter new, so
 *   `init` can be called again; `init` after `shutdown` rejects with `AdapterShutdownError`.
 * - `shutdown` is idempotent and shared; it marks the adapter closed at once (every later call
 *   rejects with `AdapterShutdownError`), waits for a running `open` to settle, ends open `readShard`
 *   iterations, then runs `close` once (also after a failed `open`, to release what it left behind).
 *   A failing `close` is logged, never thrown.
 * - Calls before `init` reject with `FatalError`; `isHealthy` is false unless ready and never rejects.
 * - `onBatch` rejects with a retryable `TransientError` when its signal is already aborted (without
 *   calling `write`) and as soon as it aborts mid-call, even if `write` ignores the signal.
 * - `pollShard` refuses a shard outside [0, 65534], a `limit` that is not a positive integer, and an
 *   `afterId` that is not a string with `FatalError`; your `read` still validates the id's format.
 *
 * @example
 * ```ts
 * class MyAdapter extends AdapterBase {
 *   readonly name = "my-backend";
 *   readonly capabilities = { readable: true, dedup: "write", dedupWindowMs: Infinity, persistent: true,
 *     ordering: "shard", maxEventBytes: 1_048_576, streamingReads: false, listsShards: false } as const;
 *   protected async open() { ... }
 *   protected async write(batch: Batch, signal: AbortSignal) { ... }
 *   protected async read(shard: number, afterId: string | undefined, limit: number) { ... }
 *   protected async close() { ... }
 * }
 * ```
 */
export abstract class AdapterBase implements Adapter {
  /** Short, stable name used in logs and stats. */
  abstract readonly name: string;
  /** What the adapter and its backend can do; see {@link AdapterCapabilities}. */
  abstract readonly capabilities: AdapterCapabilities;
  /** The contract version implemented. */
  readonly specVersion: number = ADAPTER_SPEC_VERSION;

  private state: LifecycleState = "new";
  private opened = false;
  private opening: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private currentContext: AdapterContext = { logger: silentLogger };
  private readonly shutdownController = new AbortController();

  /** Connects and prepares the backend (called once per successful `init`). */
  protected abstract open(context: AdapterContext): Promise<void>;
  /** Stores one batch (contract rules 1 to 5); only called when ready and with a live signal. */
  protected abstract write(batch: Batch, signal: AbortSignal): Promise<BatchResult | void>;
  /** Reads one page (rule 6); shard and limit are already validated, `afterId` is a string or undefined. */
  protected abstract read(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage>;
  /** Releases connections; called once, after `open` settled. Close a dead connection at once. */
  protected abstract close(): Promise<void>;
  /** Waits until everything accepted is durable. Default: nothing to wait for. */
  protected drain(): Promise<void> {
    return Promise.resolve();
  }
  /** Whether the backend answers. Default: true. Errors count as false. */
  protected ping(): Promise<boolean> {
    return Promise.resolve(true);
  }
  /** The streaming read behind {@link Adapter.readShard}; implement it with `streamingReads: true`. */
  protected follow?(
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage>;
  /** The shard discovery behind {@link Adapter.listShards}; implement it with `listsShards: true`. */
  protected discoverShards?(): Promise<readonly number[]>;

  /** The context given to `init` (a silent logger before). */
  protected get context(): AdapterContext {
    return this.currentContext;
  }

  /** The logger given to `init` (silent before). */
  protected get logger(): Logger {
    return this.currentContext.logger;
  }

  /** Aborted when `shutdown` starts: pass it to long waits so they end with the adapter. */
  protected get shutdownSignal(): AbortSignal {
    return this.shutdownController.signal;
  }

  /** True between a successful `init` and `shutdown`. */
  protected get isReady(): boolean {
    return this.state === "ready";
  }

  init(context?: AdapterContext): Promise<void> {
    if (this.state === "closed")
      return Promise.reject(new AdapterShutdownError(`${this.name} adapter has been shut down`));
    if (this.state === "ready") return Promise.resolve();
    if (this.opening !== undefined) return this.opening;
    this.state = "opening";
    this.opened = true;
    this.currentContext = context ?? { logger: silentLogger };
    const opening = Promise.resolve()
      .then(() => this.open(this.currentContext))
      .then(
        () => {
          if (this.state === "closed")
            throw new AdapterShutdownError(`${this.name} adapter was shut down during init`);
          this.state = "ready";
        },
        (error: unknown) => {
          if (this.state !== "closed") this.state = "new";
          throw error;
        },
      )
      .finally(() => {
        if (this.opening === opening) this.opening = undefined;
      });
    this.opening = opening;
    return opening;
  }

  onBatch(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    const refusal = this.refusal("onBatch");
    if (refusal !== undefined) return Promise.reject(refusal);
    if (signal.aborted) {
      return Promise.reject(
        new TransientError("onBatch aborted before it started", { cause: signal.reason }),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new TransientError("onBatch aborted", { cause: signal.reason }));
      signal.addEventListener("abort", onAbort, { once: true });
      const settle = () => signal.removeEventListener("abort", onAbort);
      // Started in this very call (not a microtask later), so a `close` that follows sees the write.
      let writing: Promise<BatchResult | void>;
      try {
        writing = Promise.resolve(this.write(batch, signal));
      } catch (error) {
        writing = Promise.reject(error);
      }
      writing.then(
        (result) => {
          settle();
          resolve(result);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  flush(): Promise<void> {
    const refusal = this.refusal("flush");
    return refusal === undefined ? this.drain() : Promise.reject(refusal);
  }

  pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    const refusal = this.refusal("pollShard") ?? readRefusal(shard, afterId, limit);
    return refusal === undefined ? this.read(shard, afterId, limit) : Promise.reject(refusal);
  }

  async *readShard(
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    const refusal = this.refusal("readShard") ?? readRefusal(shard, afterId, options?.limit);
    if (refusal !== undefined) throw refusal;
    if (!this.capabilities.streamingReads || this.follow === undefined) {
      throw new FatalError(
        `${this.name} adapter has no streaming read (capabilities.streamingReads is false)`,
      );
    }
    const signal = AbortSignal.any([options.signal, this.shutdownController.signal]);
    if (signal.aborted) return;
    try {
      for await (const page of this.follow(shard, afterId, { signal, limit: options.limit })) {
        yield page;
        if (signal.aborted) return;
      }
    } catch (error) {
      if (signal.aborted) return; // ending by abort or shutdown is not a failure
      throw error;
    }
  }

  listShards(): Promise<readonly number[]> {
    const refusal = this.refusal("listShards");
    if (refusal !== undefined) return Promise.reject(refusal);
    if (!this.capabilities.listsShards || this.discoverShards === undefined) {
      return Promise.reject(
        new FatalError(`${this.name} adapter cannot list shards (capabilities.listsShards is false)`),
      );
    }
    return this.discoverShards().then((ids) => [...new Set(ids)].sort((a, b) => a - b));
  }

  async isHealthy(): Promise<boolean> {
    if (this.state !== "ready") return false;
    try {
      return (await this.ping()) === true && this.state === "ready";
    } catch {
      return false;
    }
  }

  shutdown(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.state = "closed";
    this.shutdownController.abort(new AdapterShutdownError(`${this.name} adapter has been shut down`));
    const opening = this.opening;
    this.closing = (async () => {
      if (opening !== undefined) await opening.catch(() => {});
      if (!this.opened) return;
      try {
        await this.close();
      } catch (error) {
        this.logger.warn({ adapter: this.name, err: error }, "adapter close failed");
      }
    })();
    return this.closing;
  }

  /** The error a call gets in the current state, or undefined when the adapter is ready. */
  private refusal(method: string): Error | undefined {
    if (this.state === "ready") return undefined;
    if (this.state === "closed") return new AdapterShutdownError(`${this.name} adapter has been shut down`);
    return new FatalError(`${this.name} adapter: ${method}() called before init() completed`);
  }
}

function readRefusal(shard: number, afterId: unknown, limit: unknown): Error | undefined {
  if (!Number.isInteger(shard) || shard < 0 || shard > MAX_SHARD_ID) {
    return new FatalError(`shard must be an integer in [0, ${MAX_SHARD_ID}], got ${String(shard)}`);
  }
  if (!Number.isSafeInteger(limit) || (limit as number) < 1) {
    return new FatalError(`limit must be a positive integer, got ${String(limit)}`);
  }
  if (afterId !== undefined && typeof afterId !== "string") {
    return new FatalError(`afterId must be a string or undefined, got ${typeof afterId}`);
  }
  return undefined;
}
