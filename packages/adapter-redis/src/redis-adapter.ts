import {
  ADAPTER_SPEC_VERSION,
  type Adapter,
  type AdapterContext,
  AdapterShutdownError,
  type Batch,
  FatalError,
  type Logger,
  type ShardPage,
  TransientError,
  silentLogger,
} from "@netmesh/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { APPEND_SCRIPT } from "./append-script.js";
import { bounded } from "./bounded.js";
import { buildChunks } from "./chunks.js";
import { classify } from "./classify.js";
import { Connection } from "./connection.js";
import { KeyCache } from "./keys.js";
import { type RedisAdapterOptions, type ResolvedSettings, resolveSettings } from "./options.js";
import { type StreamEntry, toPage } from "./read-page.js";
import { Script } from "./script.js";

/** A Redis stream entry id: `<ms>-<seq>`, both unsigned 64-bit decimals. */
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

/**
 * Stores a bus's events in Redis Streams: one stream per shard (`{<prefix>:shard:<id>}`), one entry per
 * event with fields `d` (the JSON, byte for byte), `t` (insertion timestamp, µs) and `m` (message id,
 * `"{producer}:{shard}:{sequence}"`).
 *
 * - **Writes**: one Lua script call per chunk of up to 1,000 events does the XADDs server-side; chunks
 *   of a batch are sent back to back. Retries are exact: the script keeps, per producer and shard, the
 *   next sequence number not yet stored and skips what is below it, atomically with the appends, so a
 *   batch retried after its reply was lost adds nothing.
 * - **Reads**: `pollShard` is `XRANGE` with an exclusive start; entries that are not well-formed events
 *   are skipped with a warning while the cursor moves past them.
 * - **Errors** are the contract's classes: cluster redirection, loading, busy and failover replies and
 *   lost connections are retryable; auth, permission, cross-slot and script errors are fatal; `OOM` is
 *   backpressure. Credentials never appear in messages or logs.
 *
 * @example
 * ```ts
 * const bus = await createBus({ adapter: new RedisAdapter({ url: "redis://127.0.0.1:6379" }) });
 * ```
 */
export class RedisAdapter implements Adapter {
  /** Always `"redis"`. */
  readonly name = "redis";
  /** The contract version implemented. */
  readonly specVersion = ADAPTER_SPEC_VERSION;
  /** The settings in force, defaults applied. */
  readonly settings: ResolvedSettings;
  private readonly connection: Connection;
  private readonly keys: KeyCache;
  private readonly script = new Script(APPEND_SCRIPT);
  private logger: Logger = silentLogger;
  private state: "new" | "ready" | "closed" = "new";
  private opening: Promise<void> | undefined;

  /** Validates the options (throwing `TypeError`/`RangeError`); connects only in {@link init}. */
  constructor(options: RedisAdapterOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("RedisAdapter needs options: { url } or { redisOptions } or { client }");
    }
    const ways = [options.url, options.redisOptions, options.client].filter((way) => way !== undefined);
    if (options.client !== undefined ? ways.length !== 1 : ways.length === 0) {
      throw new TypeError(
        "RedisAdapter needs exactly one way to reach Redis: { url }, { redisOptions }, { url, redisOptions } or { client }",
      );
    }
    this.settings = resolveSettings(options);
    this.keys = new KeyCache(this.settings.prefix);
    this.connection = new Connection(options, this.settings.connectTimeoutMs);
  }

  /** The ioredis client in use (the caller's, or the one the adapter created). */
  get client(): Redis | Cluster {
    return this.connection.client;
  }

  /** How many script calls found the script missing on the server (`NOSCRIPT`) and re-sent it. */
  get scriptReloads(): number {
    return this.script.reloadCount;
  }

  /**
   * Connects (bounded by `connectTimeoutMs`) and loads the append script. Idempotent: a second call
   * while or after the first succeeds changes nothing. A failed `init` may be called again.
   */
  init(context: AdapterContext): Promise<void> {
    if (this.state === "closed") return Promise.reject(new AdapterShutdownError());
    if (this.state === "ready") return Promise.resolve();
    if (this.opening === undefined) {
      this.logger = context?.logger ?? silentLogger;
      this.connection.useLogger(this.logger);
      this.opening = this.open().finally(() => {
        this.opening = undefined;
      });
    }
    return this.opening;
  }

  private async open(): Promise<void> {
    const { connectTimeoutMs, commandTimeoutMs } = this.settings;
    try {
      await this.connection.open(connectTimeoutMs);
      try {
        await bounded(this.script.load(this.client), commandTimeoutMs, "SCRIPT LOAD");
      } catch (error) {
        this.connection.abandon();
        throw classify(error, "load the append script (needs Redis ≥ 7.0)", this.connection.redactor);
      }
    } catch (error) {
      // shutdown() during init closed the connection under us: report the shutdown, not the symptom.
      if (this.state === "closed") throw new AdapterShutdownError("redis adapter shut down during init");
      throw error;
    }
    if (this.state === "closed") {
      // shutdown() ran while we were connecting and may have found nothing to close yet.
      await this.connection.close(commandTimeoutMs);
      throw new AdapterShutdownError("redis adapter shut down during init");
    }
    this.state = "ready";
    this.logger.info(
      { adapter: "redis", url: this.connection.description, prefix: this.settings.prefix },
      "redis adapter ready",
    );
  }

  /**
   * Appends the batch to its shard's stream: resolves once Redis has stored every event (or found it
   * already stored). Rejects with a classified error; after a rejection some chunks may be stored, and
   * the bus's retry of the same batch stores exactly the rest.
   */
  async onBatch(batch: Batch, signal: AbortSignal): Promise<void> {
    this.assertReady("onBatch");
    if (signal?.aborted)
      throw new TransientError("redis onBatch: aborted before sending", { cause: signal.reason });
    if (batch.events.length === 0) return;
    const keys = this.keys.of(batch.shard);
    const { trim } = this.settings;
    const calls = buildChunks(batch, {
      stream: keys.stream,
      mark: keys.dedupPrefix + batch.producer,
      settings: this.settings,
      trimValue:
        trim === undefined
          ? ""
          : trim.strategy === "MAXLEN"
            ? String(trim.value)
            : String(Date.now() - trim.value),
    });
    const client = this.client;
    // All chunks go out at once, in order, on the shard's connection; see the script for why that is safe.
    const replies = calls.map((args) => this.script.run(client, 2, args));
    try {
      await bounded(Promise.all(replies), this.settings.commandTimeoutMs, "append", signal);
    } catch (error) {
      for (const reply of replies) reply.catch(() => {}); // the first failure speaks for all
      throw classify(error, `append to ${keys.stream}`, this.connection.redactor);
    }
  }

  /** Every resolved `onBatch` is already stored in Redis, so there is nothing to wait for. */
  async flush(): Promise<void> {
    if (this.state === "closed") throw new AdapterShutdownError();
  }

  /** Stops accepting work and closes the client if the adapter created it. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    await this.connection.close(this.settings.commandTimeoutMs);
  }

  /**
   * Reads up to `limit` events of `shard` strictly after `afterId` (a Redis stream id such as
   * `"1700000000000-0"`; `undefined` reads from the start) with one bounded `XRANGE`.
   */
  async pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    this.assertReady("pollShard");
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new FatalError(`redis pollShard: limit must be a positive integer, got ${String(limit)}`);
    }
    if (!Number.isInteger(shard) || shard < 0 || shard > 0xffff) {
      throw new FatalError(`redis pollShard: shard must be an integer in [0, 65535], got ${String(shard)}`);
    }
    if (afterId !== undefined && (typeof afterId !== "string" || !ENTRY_ID.test(afterId))) {
      throw new FatalError(`redis pollShard: ${JSON.stringify(afterId)} is not a Redis stream id`);
    }
    const { stream } = this.keys.of(shard);
    const start = afterId === undefined ? "-" : `(${afterId}`;
    // One extra entry tells whether more follow; saturate so a huge limit cannot overflow.
    const count = limit >= Number.MAX_SAFE_INTEGER ? limit : limit + 1;
    let entries: StreamEntry[];
    try {
      entries = await bounded(
        this.client.xrange(stream, start, "+", "COUNT", count),
        this.settings.commandTimeoutMs,
        "XRANGE",
      );
    } catch (error) {
      throw classify(error, `read ${stream}`, this.connection.redactor);
    }
    return toPage(shard, entries, limit, this.logger, stream);
  }

  /**
   * True when the adapter is initialised, not shut down, its connection is up and a PING on it is
   * answered within `healthCheckTimeoutMs`. The PING travels the same connection as the writes, so a
   * wedged or backed-up connection reports unhealthy, not just an unreachable server.
   */
  async isHealthy(): Promise<boolean> {
    if (this.state !== "ready" || this.client.status !== "ready") return false;
    try {
      const reply = await bounded(this.client.ping(), this.settings.healthCheckTimeoutMs, "PING");
      return reply === "PONG";
    } catch {
      return false;
    }
  }

  private assertReady(what: string): void {
    if (this.state === "closed") throw new AdapterShutdownError();
    if (this.state === "new")
      throw new FatalError(`redis ${what}: the adapter is not initialised (call init)`);
  }
}
