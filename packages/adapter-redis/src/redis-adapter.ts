import {
  type AdapterCapabilities,
  AdapterBase,
  type AdapterContext,
  type AdapterError,
  AdapterShutdownError,
  type Batch,
  type BatchResult,
  FatalError,
  type GroupCoordinator,
  TransientError,
  type ReadShardOptions,
  type ShardPage,
} from "@netmesh/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { APPEND_SCRIPT, partlyStored } from "./append-script.js";
import { bounded } from "./bounded.js";
import { buildChunks } from "./chunks.js";
import { classify } from "./classify.js";
import { Connection } from "./connection.js";
import { type RedisCoordinator, redisCoordinator } from "./coordinator.js";
import { KeyCache } from "./keys.js";
import { type RedisAdapterOptions, type ResolvedSettings, resolveSettings } from "./options.js";
import { DirectReads, directEndpoint } from "./direct-reads.js";
import { packedPage, toPage } from "./read-page.js";
import { READ_SCRIPT } from "./read-script.js";
import { Script } from "./script.js";
import { listShardStreams, serverBulkLimit } from "./server-info.js";
import { followStream } from "./tail.js";

/** A Redis stream entry id: `<ms>-<seq>`, both unsigned 64-bit decimals. */
const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;
/** The largest stream id: nothing can follow it, and `XRANGE` refuses to start after it. */
const LAST_ENTRY_ID = "18446744073709551615-18446744073709551615";

/**
 * Stores a bus's events in Redis Streams: one stream per shard (`{<prefix>:shard:<id>}`), one entry per
 * event with fields `d` (the JSON, byte for byte), `t` (insertion timestamp, µs) and `m` (message id,
 * `"{producer}:{shard}:{sequence}"`).
 *
 * - **Writes**: one Lua script call per chunk of up to 1,000 events does the XADDs server-side; chunks
 *   of a batch are sent back to back. Retries are exact: the script keeps, per producer and shard, the
 *   next sequence number not yet stored and skips what is below it, atomically with the appends, so a
 *   batch retried after its reply was lost adds nothing. An event that is too large or holds a lone
 *   surrogate is refused alone (never sent); the rest of its batch is stored in order.
 * - **Reads**: `pollShard` is one `XRANGE` with an exclusive start: plain, over a connection of the
 *   adapter's own whose reply it decodes itself (`readMode` `"direct"`), or, where that connection
 *   cannot reach the server as the client does (Cluster, Sentinel, TLS, `keyPrefix`, `directReads:
 *   false`), run server-side by the read script, the page answered packed (`"script"`); `readShard`
 *   pages the same way and, caught up, follows the shard with `XREAD BLOCK` on a connection of its
 *   own; `listShards` scans for the prefix's streams (every master of a cluster). Entries that are not
 *   well-formed events are skipped with a warning while the cursor moves past them.
 * - **Errors** are the contract's classes: cluster redirection, loading, busy, failover and
 *   can't-persist (`MISCONF`) replies and lost connections are retryable; auth, permission,
 *   cross-slot and script errors are fatal; `OOM` is backpressure. Credentials never appear in
 *   messages or logs.
 *
 * @example
 * ```ts
 * const bus = await createBus({ adapter: new RedisAdapter({ url: "redis://127.0.0.1:6379" }) });
 * ```
 */
export class RedisAdapter extends AdapterBase {
  /** Always `"redis"`. */
  readonly name = "redis";
  /** The settings in force, defaults applied. */
  readonly settings: ResolvedSettings;
  private readonly connection: Connection;
  private readonly keys: KeyCache;
  private readonly script = new Script(APPEND_SCRIPT);
  private readonly readScript = new Script(READ_SCRIPT);
  private maxEventBytes: number;
  /** The socket pages are read over, decoded here; `undefined` while the read script is used instead. */
  private direct: DirectReads | undefined;

  /** Validates the options (throwing `TypeError`/`RangeError`); connects only in {@link init}. */
  constructor(options: RedisAdapterOptions) {
    super();
    if (typeof options !== "object" || options === null) {
      throw new TypeError("RedisAdapter needs options: { url } or { redisOptions } or { client }");
    }
    const ways = [options.url, options.redisOptions, options.client].filter((way) => way !== undefined);
    if (options.client !== undefined ? ways.length !== 1 : ways.length === 0) {
      throw new TypeError(
        "RedisAdapter needs exactly one way to reach Redis: { url }, { redisOptions }, { url, redisOptions } or { client }",
      );
    }
    if (options.url !== undefined && (typeof options.url !== "string" || options.url.trim() === "")) {
      // ioredis would read an empty URL as "localhost:6379" and connect somewhere nobody named.
      throw new TypeError(
        `RedisAdapter option url must be a non-empty string, got ${JSON.stringify(options.url)}`,
      );
    }
    this.settings = resolveSettings(options);
    this.keys = new KeyCache(this.settings.prefix);
    this.connection = new Connection(options, this.settings.connectTimeoutMs);
    this.maxEventBytes = this.settings.maxEventBytes;
  }

  /**
   * Readable, exact dedup by a per-producer mark that lives `dedupWindowMs` (or forever), persistent,
   * ordered, streaming, listing shards; `maxEventBytes` is the setting, lowered at `init` to the
   * server's `proto-max-bulk-len` when that is smaller.
   */
  get capabilities(): AdapterCapabilities {
    const window = this.settings.dedupWindowMs;
    return {
      readable: true,
      dedup: "write",
      dedupWindowMs: window === 0 ? Number.POSITIVE_INFINITY : window,
      persistent: true,
      ordering: "shard",
      maxEventBytes: this.maxEventBytes,
      streamingReads: true,
      listsShards: true,
      // Events are sent as Buffers cut from the batch's bytes.
      payload: "bytes",
    };
  }

  /**
   * How pages are read, known once `init` connected: `"direct"` (plain `XRANGE` over a socket of the
   * adapter's own, decoded by the adapter) or `"script"` (the read script over the ioredis client: a
   * Cluster, Sentinel, TLS, a `keyPrefix`, or `directReads: false`). See the README's Reads.
   */
  get readMode(): "direct" | "script" {
    return this.direct === undefined ? "script" : "direct";
  }

  /** The ioredis client in use (the caller's, or the one the adapter created). */
  get client(): Redis | Cluster {
    return this.connection.client;
  }

  /** How many script calls (appends and reads) found their script missing on the server (`NOSCRIPT`) and re-sent it. */
  get scriptReloads(): number {
    return this.script.reloadCount + this.readScript.reloadCount;
  }

  /** Connects (bounded by `connectTimeoutMs`), loads the append and read scripts and reads the server's limit. */
  protected async open(context: AdapterContext): Promise<void> {
    const { connectTimeoutMs, commandTimeoutMs } = this.settings;
    this.connection.useLogger(context.logger);
    // A shutdown during init stops the connection attempt at once instead of waiting for its timeout.
    const stop = () => this.connection.abandon();
    this.shutdownSignal.addEventListener("abort", stop, { once: true });
    try {
      await this.connection.open(connectTimeoutMs);
      try {
        const loads = Promise.all([this.script.load(this.client), this.readScript.load(this.client)]);
        await bounded(loads, commandTimeoutMs, "SCRIPT LOAD");
      } catch (error) {
        this.connection.abandon();
        throw classify(error, "load the scripts (needs Redis ≥ 7.0)", this.connection.redactor);
      }
      const endpoint = this.settings.directReads ? directEndpoint(this.client) : undefined;
      this.direct = endpoint === undefined ? undefined : new DirectReads(endpoint, connectTimeoutMs);
      const serverLimit = await serverBulkLimit(this.client, commandTimeoutMs);
      if (serverLimit !== undefined && serverLimit < this.maxEventBytes) this.maxEventBytes = serverLimit;
    } finally {
      this.shutdownSignal.removeEventListener("abort", stop);
    }
    context.logger.info(
      {
        adapter: "redis",
        url: this.connection.description,
        prefix: this.settings.prefix,
        maxEventBytes: this.maxEventBytes,
      },
      "redis adapter ready",
    );
  }

  /**
   * Appends the batch to its shard's stream: resolves once Redis has stored every event (or found it
   * already stored), naming the events it refused. Rejects with a classified error; after a rejection
   * some chunks may be stored (the error then says `notStored: false`), and the bus's retry of the
   * same batch stores exactly the rest.
   */
  protected async write(batch: Batch, signal: AbortSignal): Promise<BatchResult | undefined> {
    if (batch.size === 0) return undefined;
    const keys = this.keys.of(batch.shard);
    const { trim } = this.settings;
    const { calls, rejected } = buildChunks(batch, {
      stream: keys.stream,
      mark: keys.dedupPrefix + batch.producer,
      settings: this.settings,
      maxEventBytes: this.maxEventBytes,
      // A window reaching back before the epoch keeps everything (MINID refuses a negative id).
      trimValue:
        trim === undefined
          ? ""
          : trim.strategy === "MAXLEN"
            ? String(trim.value)
            : String(Math.max(0, Date.now() - trim.value)),
    });
    const client = this.client;
    /** The chunk whose failure came first; replies come in order, so every chunk before it succeeded. */
    let failed = -1;
    // All chunks go out at once, in order, on the shard's connection; see the script for why that is safe.
    const replies = calls.map((args, index) =>
      this.script.run(client, 2, args).catch((error: unknown) => {
        if (failed < 0) failed = index;
        throw error;
      }),
    );
    try {
      await bounded(Promise.all(replies), this.settings.commandTimeoutMs, "append", signal);
    } catch (error) {
      for (const reply of replies) reply.catch(() => {}); // the first failure speaks for all
      // Chunks before the failed one may have stored events, and so may a chunk failing inside its loop.
      const mayHaveStored = failed > 0 || partlyStored(error);
      throw classify(error, `append to ${keys.stream}`, this.connection.redactor, mayHaveStored);
    }
    return rejected.length === 0 ? undefined : { rejected };
  }

  /**
   * Reads up to `limit` events of `shard` strictly after `afterId` (a Redis stream id such as
   * `"1700000000000-0"`; `undefined` reads from the start) with one bounded `XRANGE`: over the direct
   * connection, decoded here (direct-reads.ts), or else by the read script, which answers it packed
   * (read-script.ts).
   */
  protected async read(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    checkEntryId(afterId);
    if (afterId === LAST_ENTRY_ID) return { events: [], nextId: undefined, hasMore: false };
    const { stream } = this.keys.of(shard);
    const start = afterId === undefined ? "-" : `(${afterId}`;
    // One extra entry tells whether more follow; saturate so a huge limit cannot overflow.
    const count = limit >= Number.MAX_SAFE_INTEGER ? limit : limit + 1;
    const { direct } = this;
    if (direct !== undefined) {
      const reply = direct.xrange(stream, start, String(count), shard, limit, this.logger);
      const sentOn = direct.connection;
      try {
        return await bounded(reply, this.settings.commandTimeoutMs, "XRANGE");
      } catch (error) {
        // A server that stopped answering: start over on a fresh connection rather than queue behind
        // it. Only the one this read was sent on: the reads that reset fails get the same error.
        if (error instanceof TransientError) direct.reset(error, sentOn);
        throw this.readFailure(error, stream);
      }
    }
    let reply: unknown;
    try {
      reply = await bounded(
        this.readScript.run(this.client, 1, [stream, start, String(count), String(limit)]),
        this.settings.commandTimeoutMs,
        "XRANGE",
      );
    } catch (error) {
      throw this.readFailure(error, stream);
    }
    return packedPage(shard, reply, this.logger, stream);
  }

  /** A read's failure, classified; one that a shutdown cut short ends as the calls after it do. */
  private readFailure(error: unknown, stream: string): AdapterError {
    const classified = classify(error, `read ${stream}`, this.connection.redactor);
    if (!this.shutdownSignal.aborted || !classified.isRetryable) return classified;
    return new AdapterShutdownError(`redis read of ${stream}: the adapter was shut down`, {
      cause: classified,
    });
  }

  /**
   * Follows a shard: pages as {@link read} does (the next page read while one is consumed), and when
   * caught up, `XREAD BLOCK` on a connection of its own.
   */
  protected override follow(
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    checkEntryId(afterId);
    return followStream({
      client: this.client,
      stream: this.keys.of(shard).stream,
      afterId,
      ...options,
      read: (after, limit) => this.read(shard, after, limit),
      toPage: (entries, limit) => toPage(shard, entries, limit, this.logger, this.keys.of(shard).stream),
      redactor: this.connection.redactor,
    });
  }

  /** Whether `id` is a Redis stream id (`<ms>-<seq>`), the form of every entry id and cursor of this adapter. */
  isEntryId(id: string): boolean {
    return ENTRY_ID.test(id);
  }

  /** The shards whose streams exist under the prefix (`SCAN … TYPE stream` on every master). */
  protected override discoverShards(): Promise<readonly number[]> {
    return listShardStreams(this.client, this.settings.prefix, this.settings.commandTimeoutMs).catch(
      (error: unknown) => {
        throw classify(error, "list shard streams", this.connection.redactor);
      },
    );
  }

  /**
   * Consumer-group coordination in Redis (see `group-script.ts`): leases, checkpoints and members of a
   * group in three keys under `{<prefix>:group:<name>}`, one atomic script call per operation, expiry
   * by the server's clock. Calls reject with `AdapterShutdownError` unless the adapter is initialised.
   */
  coordination(): GroupCoordinator {
    this.coordinator ??= redisCoordinator({
      prefix: this.settings.prefix,
      commandTimeoutMs: this.settings.commandTimeoutMs,
      redactor: this.connection.redactor,
      client: () => {
        if (!this.isReady)
          throw new AdapterShutdownError("redis adapter is not initialised or has been shut down");
        return this.client;
      },
    });
    return this.coordinator;
  }
  private coordinator: RedisCoordinator | undefined;

  /** Stops the client if the adapter created it (a dead connection is cut at once). */
  protected async close(): Promise<void> {
    this.coordinator?.stop(); // the groups' subscriber connection
    const { commandTimeoutMs } = this.settings;
    await Promise.all([this.direct?.close(commandTimeoutMs), this.connection.close(commandTimeoutMs)]);
  }

  /**
   * A PING answered within `healthCheckTimeoutMs` on the connection the writes use, so a wedged or
   * backed-up connection reports unhealthy, not just an unreachable server.
   */
  protected override async ping(): Promise<boolean> {
    if (this.client.status !== "ready") return false;
    const reply = await bounded(this.client.ping(), this.settings.healthCheckTimeoutMs, "PING");
    return reply === "PONG";
  }
}

function checkEntryId(afterId: string | undefined): void {
  if (afterId !== undefined && !ENTRY_ID.test(afterId)) {
    throw new FatalError(`redis: ${JSON.stringify(afterId.slice(0, 64))} is not a Redis stream id`);
  }
}
