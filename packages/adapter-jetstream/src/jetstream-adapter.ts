import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  ADAPTER_SPEC_VERSION,
  type Adapter,
  type AdapterContext,
  type AdapterError,
  AdapterShutdownError,
  type Batch,
  ConnectionError,
  FatalError,
  type Logger,
  type ShardPage,
  TransientError,
  redactUrl,
  silentLogger,
} from "@netmesh/core/adapter";
import { classifyClientError, describe } from "./classify.js";
import { drainWithin, openConnection, watchStatus, within } from "./connection.js";
import { MAX_SEQUENCE, parseCursor } from "./cursor.js";
import { shardSubject, streamName } from "./naming.js";
import { type JetStreamAdapterOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { PayloadEncoder } from "./payloads.js";
import { NoRespondersReply, publishWindow } from "./publish.js";
import { readPage } from "./read.js";
import { ReplyMux } from "./reply-mux.js";
import { StreamRegistry } from "./streams.js";

/** Counters of what the server answered to this adapter's publishes. */
export interface JetStreamPublishCounters {
  /** Publishes acknowledged as newly stored. */
  readonly stored: number;
  /** Publishes acknowledged as duplicates: their message id was already stored (a retry's dedup). */
  readonly duplicates: number;
}

/** Everything that lives from a successful `init` to `shutdown`. */
interface Session {
  readonly connection: NatsConnection;
  /** True when the adapter opened the connection (and so drains it at shutdown). */
  readonly owned: boolean;
  readonly manager: JetStreamManager;
  readonly mux: ReplyMux;
  readonly streams: StreamRegistry;
}

const LARGEST_SHARD = 0xffff;
const EMPTY_PAGE: ShardPage = Object.freeze({ events: Object.freeze([]), nextId: undefined, hasMore: false });

/**
 * A `@netmesh` adapter storing events in NATS JetStream: one stream per shard (`{prefix}_shard_{id}`,
 * subject `{prefix}.shard.{id}`), each event one message whose payload is the event's JSON text, with
 * its message id in `Nats-Msg-Id` (the server's dedup key, so a retried batch is stored once) and its
 * timestamp in `Netmesh-Ts`. Entry ids are stream sequences, as decimal strings.
 *
 * - `onBatch` creates the shard's stream on first use, publishes the whole batch at once through one
 *   reply subscription and awaits the acks together (bounded by `requestTimeoutMs`).
 * - `pollShard` reads with pipelined direct gets ("next message of the subject at or after").
 * - Errors are `AdapterError`s, classified explicitly (see the README's table).
 *
 * @example
 * ```ts
 * const adapter = new JetStreamAdapter({ url: "nats://127.0.0.1:4222", prefix: "orders" });
 * const bus = await createBus({ adapter });
 * ```
 */
export class JetStreamAdapter implements Adapter {
  /** Always `"jetstream"`. */
  readonly name = "jetstream";
  /** The contract version implemented. */
  readonly specVersion = ADAPTER_SPEC_VERSION;
  private readonly options: ResolvedOptions;
  private readonly encoder = new PayloadEncoder();
  private state: "new" | "ready" | "closed" = "new";
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private session: Session | undefined;
  private logger: Logger = silentLogger;
  private connected = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stored = 0;
  private duplicates = 0;

  /** Validates the options (a `FatalError` when they are wrong); connects only at {@link init}. */
  constructor(options: JetStreamAdapterOptions) {
    this.options = resolveOptions(options);
  }

  /** The stream name of a shard under this adapter's prefix. */
  streamName(shard: number): string {
    return streamName(this.options.prefix, shard);
  }

  /** What the server answered to this adapter's publishes so far. */
  get publishCounters(): JetStreamPublishCounters {
    return { stored: this.stored, duplicates: this.duplicates };
  }

  /**
   * Connects (or adopts the caller's connection) and subscribes to the replies. Idempotent: concurrent
   * and later calls share the first one. A failed attempt closes what it opened, so a new call starts
   * clean. Rejects with `AdapterShutdownError` after {@link shutdown}.
   */
  init(context: AdapterContext): Promise<void> {
    if (this.state === "closed") return Promise.reject(new AdapterShutdownError());
    if (this.state === "ready") return Promise.resolve();
    if (this.starting === undefined) {
      this.starting = this.start(context).finally(() => {
        this.starting = undefined;
      });
    }
    return this.starting;
  }

  /** Publishes the batch and resolves when every event is acknowledged as stored (or as a duplicate). */
  onBatch(batch: Batch, signal: AbortSignal): Promise<void> {
    return this.track(this.publishBatch(batch, signal));
  }

  /** Nothing to flush: `onBatch` resolves only on acks. Rejects with `AdapterShutdownError` after shutdown. */
  async flush(): Promise<void> {
    if (this.state === "closed") throw new AdapterShutdownError();
  }

  /**
   * Stops accepting work, lets batches and reads in flight finish, removes the reply subscription and,
   * for a connection the adapter opened, drains it; all within `drainTimeoutMs`, else it rejects with a
   * `TransientError` (after closing the connection). Idempotent; a caller's connection stays open.
   */
  shutdown(): Promise<void> {
    if (this.closing === undefined) {
      this.state = "closed";
      this.closing = this.stop();
    }
    return this.closing;
  }

  /**
   * Reads up to `limit` events of `shard` strictly after `afterId` (a stream sequence; from the start
   * when undefined). `nextId` is the last examined entry of the page: the last event returned, or a
   * corrupt record skipped after it. A record naming another shard stops the page just before it (and
   * rejects with a `FatalError` when it comes first). Sequences are handled as bigints: a cursor of
   * 2^64-1 returns the empty page, never wraps.
   */
  pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    return this.track(this.read(shard, afterId, limit));
  }

  /** True between `init` and `shutdown` while the server answers a ping within `requestTimeoutMs`. */
  async isHealthy(): Promise<boolean> {
    const session = this.session;
    if (this.state !== "ready" || session === undefined || !this.connected) return false;
    if (session.connection.isClosed()) return false;
    return within(
      session.connection.flush().then(
        () => true,
        () => false,
      ),
      this.options.requestTimeoutMs,
      () => false,
    );
  }

  private async start(context: AdapterContext): Promise<void> {
    this.logger = context?.logger ?? silentLogger;
    const { url, requestTimeoutMs } = this.options;
    const owned = this.options.connection === undefined;
    const connection = this.options.connection ?? (await openConnection(this.options, url!));
    let mux: ReplyMux | undefined;
    try {
      if (connection.isClosed()) throw new FatalError("the connection given to JetStreamAdapter is closed");
      if (connection.info !== undefined && !connection.info.headers) {
        throw new FatalError("this NATS server does not support headers, which JetStream dedup needs");
      }
      const manager = await jetstreamManager(connection, { timeout: requestTimeoutMs, checkAPI: false });
      // One request to learn now, not at the first batch, whether JetStream answers for this account.
      try {
        await manager.getAccountInfo();
      } catch (error) {
        throw classifyClientError(
          error,
          "JetStream did not answer (not enabled for this account, or still starting)",
        );
      }
      mux = new ReplyMux(connection, this.options.inboxPrefix);
      mux.start();
      const session: Session = {
        connection,
        owned,
        manager,
        mux,
        streams: new StreamRegistry(manager, this.options, this.logger),
      };
      if (this.state === "closed") throw new AdapterShutdownError("shut down while initialising");
      this.session = session;
      this.connected = true;
      this.state = "ready";
      void watchStatus(connection, this.statusHandlers(session), this.logger);
      this.logger.info(
        {
          adapter: "jetstream",
          url: url === undefined ? "(caller's connection)" : redactUrl(url),
          prefix: this.options.prefix,
        },
        "JetStream adapter initialised",
      );
    } catch (error) {
      // Leave nothing behind: a caller's connection loses our subscription, our own is closed.
      mux?.close(new AdapterShutdownError("initialisation failed"));
      if (owned) await connection.close().catch(() => {});
      throw classifyClientError(error, "initialise the JetStream adapter");
    }
  }

  private statusHandlers(session: Session) {
    return {
      onDisconnect: () => {
        this.connected = false;
        // Acks of what is in flight will not come: fail now, so the bus retries after its back-off
        // instead of waiting out the request timeout.
        session.mux.failAll(new ConnectionError("the connection to NATS was lost while awaiting replies"));
      },
      onReconnect: () => {
        this.connected = true;
      },
      onError: (error: Error) => {
        const violation = error as Error & { operation?: unknown; subject?: unknown };
        const fatal = new FatalError(`NATS refused: ${describe(error)}`);
        if (error.name === "PermissionViolationError" && violation.operation === "publish") {
          session.mux.failSubject(String(violation.subject), fatal);
        } else if (/Authorization|Authentication|Permission/.test(error.name)) {
          session.mux.failAll(fatal);
        }
      },
      stopped: () => this.session !== session,
    };
  }

  /** The live session, or the error to reject with. */
  private openSession(): Session {
    if (this.state === "closed") throw new AdapterShutdownError();
    if (this.state === "new" || this.session === undefined) {
      throw new FatalError("JetStreamAdapter used before init()");
    }
    return this.session;
  }

  private async publishBatch(batch: Batch, signal: AbortSignal): Promise<void> {
    const session = this.openSession();
    const count = batch.events.length;
    if (count === 0) return;
    if (signal?.aborted)
      throw new TransientError("onBatch aborted before it started", { cause: signal.reason });
    const shard = checkShard(batch.shard);
    await session.streams.ensure(shard);
    // Everything is encoded and checked before the first publish: an event the server cannot take
    // fails the batch before any of it is stored.
    const payloads = this.encoder.encodeAll(
      batch.events,
      0,
      count,
      session.connection.info?.max_payload ?? 1_048_576,
    );
    const subject = shardSubject(this.options.prefix, shard);
    const context = {
      connection: session.connection,
      mux: session.mux,
      timeoutMs: this.options.requestTimeoutMs,
      signal,
      encoder: this.encoder,
    };
    for (let from = 0; from < count; from += this.options.maxAckPending) {
      if (signal?.aborted) throw new TransientError("onBatch aborted", { cause: signal.reason });
      // While reconnecting, publishes would pile up in the client's buffer: refuse and let the bus retry.
      if (!this.connected) throw new ConnectionError("not connected to NATS (reconnecting)");
      const window = payloads.slice(from, from + this.options.maxAckPending);
      try {
        const result = await publishWindow(context, subject, batch, from, window);
        this.stored += result.stored;
        this.duplicates += result.duplicates;
      } catch (error) {
        throw await this.explain(session, shard, error);
      }
    }
  }

  /** Turns a failed window's error into the one to report. */
  private async explain(session: Session, shard: number, error: unknown): Promise<AdapterError> {
    if (this.state === "closed")
      return new AdapterShutdownError("the adapter was shut down during the batch");
    if (!(error instanceof NoRespondersReply)) return classifyClientError(error, "publish");
    // No stream listened. Gone for good (deleted after we made it), or JetStream not up yet?
    let info: Awaited<ReturnType<StreamRegistry["lookup"]>>;
    try {
      info = await session.streams.lookup(shard);
    } catch (lookupError) {
      return classifyClientError(lookupError, `${error.message}; then`);
    }
    if (info !== undefined) return error;
    session.streams.forget(shard);
    return new FatalError(
      `stream ${this.streamName(shard)} was not found after it had been created (deleted?); the batch is refused and the next one creates the stream again`,
    );
  }

  private async read(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    const session = this.openSession();
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1) {
      throw new FatalError(`limit must be a positive integer, got ${String(limit)}`);
    }
    checkShard(shard);
    const after = parseCursor(afterId);
    if (after === MAX_SEQUENCE) return EMPTY_PAGE; // nothing can come after the last possible sequence
    if (!this.connected) throw new ConnectionError("not connected to NATS (reconnecting)");
    const context = {
      connection: session.connection,
      mux: session.mux,
      timeoutMs: this.options.requestTimeoutMs,
      maxReadAhead: this.options.maxReadAhead,
      logger: this.logger,
      stream: this.streamName(shard),
      subject: shardSubject(this.options.prefix, shard),
    };
    if (!(await session.streams.readable(shard))) return EMPTY_PAGE; // a shard never written
    try {
      return await readPage(context, shard, after, limit);
    } catch (error) {
      if (this.state === "closed")
        throw new AdapterShutdownError("the adapter was shut down during the read");
      // Unanswered or refused gets may mean the stream was deleted: look it up again next time.
      session.streams.forget(shard);
      throw classifyClientError(error, "read");
    }
  }

  private async stop(): Promise<void> {
    const session = this.session;
    if (session === undefined) {
      // Shut down before or while initialising: a start in progress sees the state and closes what
      // it opened, so there is nothing to release here.
      await this.starting?.catch(() => {});
      return;
    }
    const deadline = Date.now() + this.options.drainTimeoutMs;
    await within(
      Promise.allSettled([...this.inFlight]).then(() => true),
      this.options.drainTimeoutMs,
      () => false,
    );
    this.session = undefined;
    this.connected = false;
    session.mux.close(new AdapterShutdownError());
    session.streams.clear();
    if (session.owned) await drainWithin(session.connection, Math.max(1, deadline - Date.now()));
    this.logger.info({ adapter: "jetstream", prefix: this.options.prefix }, "JetStream adapter shut down");
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const untrack = () => this.inFlight.delete(work);
    work.then(untrack, untrack);
    return work;
  }
}

/** A shard id: an integer in [0, 65535]. Anything else is a caller's bug. */
function checkShard(shard: number): number {
  if (!Number.isInteger(shard) || shard < 0 || shard > LARGEST_SHARD) {
    throw new FatalError(`shard must be an integer in [0, ${LARGEST_SHARD}], got ${String(shard)}`);
  }
  return shard;
}
