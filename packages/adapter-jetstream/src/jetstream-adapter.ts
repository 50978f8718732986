import { jetstreamManager } from "@nats-io/jetstream";
import {
  AdapterBase,
  type AdapterCapabilities,
  type AdapterContext,
  AdapterShutdownError,
  type Batch,
  type BatchResult,
  ConnectionError,
  FatalError,
  type GroupCoordinator,
  type Logger,
  type ReadShardOptions,
  type ShardPage,
  redactUrl,
} from "@netmesh/core/adapter";
import { classifyClientError, describe } from "./classify.js";
import { parseSequence } from "./cursor.js";
import { LinkState, drainWithin, openConnection, secretsOf, watchStatus, within } from "./connection.js";
import { checkRoomForEvents, maxEventBytesFor } from "./event-size.js";
import { type JetStreamCoordinator, jetstreamCoordinator } from "./group-coordinator.js";
import { MAX_HEADER_BYTES } from "./headers.js";
import { streamName } from "./naming.js";
import {
  JETSTREAM_DEFAULTS,
  type JetStreamAdapterOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./options.js";
import { PayloadEncoder } from "./payloads.js";
import { ReadSessions, SESSION_MIN_LIMIT } from "./read-sessions.js";
import { Redactor } from "./redaction.js";
import { ReplyMux } from "./reply-mux.js";
import { type ShardReadContext, followShardPages, listShardStreams, readShardPage } from "./shard-reads.js";
import { StreamRegistry } from "./streams.js";
import { type Session, type WriteContext, writeBatch } from "./write.js";

/** Counters of what the server answered to this adapter's publishes. */
export interface JetStreamPublishCounters {
  /** Publishes acknowledged as newly stored. */
  readonly stored: number;
  /** Publishes acknowledged as duplicates: their message id was already stored (a retry's dedup). */
  readonly duplicates: number;
}

/** NATS's default `max_payload`: what `maxEventBytes` is derived from until `init` learns the server's. */
const DEFAULT_MAX_PAYLOAD = 1_048_576;

/**
 * The capabilities for a server whose `max_payload` is `maxPayload`: readable, dedup on write within
 * the streams' `duplicate_window`, persistent (file storage), ordered per shard, events up to
 * `max_payload` less the most header bytes a message carries (and within a `maxBytes` stream limit,
 * see `maxEventBytesFor`), streaming reads, shard listing, and read-ahead of its own for pages read
 * through a session.
 */
function capabilitiesFor(options: ResolvedOptions, maxPayload: number): AdapterCapabilities {
  return Object.freeze({
    readable: true,
    dedup: "write",
    dedupWindowMs: options.duplicateWindowMs,
    persistent: true,
    ordering: "shard",
    maxEventBytes: maxEventBytesFor(options.prefix, maxPayload, options.maxBytes),
    streamingReads: true,
    listsShards: true,
    // Payloads are published as views of the batch's bytes.
    payload: "bytes",
    // A page this large is read through a consumer session, which pulls the next page as it returns one.
    readsAheadFrom: SESSION_MIN_LIMIT,
  });
}

/**
 * A `@netmesh` adapter storing events in NATS JetStream: one stream per shard (`{prefix}_shard_{id}`,
 * subject `{prefix}.shard.{id}`), each event one message whose payload is the event's JSON text, with
 * its message id in `Nats-Msg-Id` (the server's dedup key, so a retried batch is stored once) and its
 * timestamp in `Netmesh-Ts`. Entry ids are stream sequences, as decimal strings. `AdapterBase` owns the
 * lifecycle (contract rules 5 to 7 and 9); this class connects, writes, reads and closes.
 *
 * - `onBatch` creates the shard's stream on first use, refuses the events that cannot be stored on their
 *   own (`tooLarge`, `invalidText`), publishes the rest at once through one reply subscription and awaits
 *   the acks together. An outage (connection lost, JetStream not answering) is waited out within the
 *   attempt, republishing what was in flight: dedup makes that safe.
 * - `pollShard` reads with pipelined direct gets ("next message of the subject at or after"), and pages
 *   of 64 events or more through a read session (an ephemeral pull consumer that reads ahead).
 * - `readShard` follows a shard through an ephemeral pull consumer; `listShards` lists the prefix's streams.
 * - Errors are `AdapterError`s, classified explicitly (see the README's table).
 *
 * @example
 * ```ts
 * const adapter = new JetStreamAdapter({ url: "nats://127.0.0.1:4222", prefix: "orders" });
 * const bus = await createBus({ adapter });
 * ```
 */
export class JetStreamAdapter extends AdapterBase {
  /** Always `"jetstream"`. */
  readonly name = "jetstream";
  private readonly options: ResolvedOptions;
  private readonly encoder = new PayloadEncoder();
  private settled: AdapterCapabilities;
  private session: Session | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stored = 0;
  private duplicates = 0;

  /** Keeps the credentials of the options out of every error and log line (see `redaction.ts`). */
  private readonly redactor: Redactor;
  private scrubbedLogger: { readonly source: Logger; readonly logger: Logger } | undefined;

  /** Validates the options (a `FatalError` when they are wrong); connects only at `init`. */
  constructor(options: JetStreamAdapterOptions) {
    super();
    this.options = resolveOptions(options);
    checkRoomForEvents(this.options.prefix, this.options.maxBytes);
    this.redactor = new Redactor(secretsOf(this.options.url, this.options.connectOptions));
    this.settled = capabilitiesFor(this.options, DEFAULT_MAX_PAYLOAD);
  }

  /**
   * The bus's logger, every line scrubbed of the options' credentials (the base class logs through it
   * too).
   */
  protected override get logger(): Logger {
    const source = super.logger;
    if (this.scrubbedLogger?.source !== source) {
      this.scrubbedLogger = { source, logger: this.redactor.logger(source) };
    }
    return this.scrubbedLogger.logger;
  }

  /** Rethrows `error` as the adapter hands errors out: scrubbed of credentials, causes copied. */
  private readonly scrubbed = (error: unknown): never => {
    throw this.redactor.error(error);
  };

  /**
   * What the adapter does (see the README): `maxEventBytes` is settled by `init` from the server's
   * `max_payload` (before `init` it assumes NATS's default of 1 MiB); nothing changes afterwards.
   */
  get capabilities(): AdapterCapabilities {
    return this.settled;
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
   * Connects (or adopts the caller's connection), checks that JetStream answers, learns the server's
   * `max_payload` and subscribes to the replies. A failure closes what it opened.
   */
  protected open(context: AdapterContext): Promise<void> {
    return this.openSession({ ...context, logger: this.logger }).catch(this.scrubbed);
  }

  private async openSession(context: AdapterContext): Promise<void> {
    const { url, requestTimeoutMs } = this.options;
    const owned = this.options.connection === undefined;
    const connection = this.options.connection ?? (await openConnection(this.options, url!));
    let mux: ReplyMux | undefined;
    try {
      if (connection.isClosed()) throw new FatalError("the connection given to JetStreamAdapter is closed");
      if (connection.info !== undefined && !connection.info.headers) {
        throw new FatalError("this NATS server does not support headers, which JetStream dedup needs");
      }
      const maxPayload = connection.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
      if (maxPayload <= MAX_HEADER_BYTES) {
        throw new FatalError(`the server's max_payload (${maxPayload}) leaves no room for an event`);
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
        link: new LinkState(),
        manager,
        mux,
        streams: new StreamRegistry(manager, this.options, context.logger, connection, mux),
        reads: new ReadSessions(context.logger),
      };
      this.settled = capabilitiesFor(this.options, maxPayload);
      this.session = session;
      void watchStatus(connection, this.statusHandlers(session), context.logger);
      context.logger.info(
        {
          adapter: "jetstream",
          url: url === undefined ? "(caller's connection)" : redactUrl(url),
          prefix: this.options.prefix,
          maxEventBytes: this.settled.maxEventBytes,
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
        session.link.lost();
        session.streams.unheardAll();
        // Acks of what is in flight will not come: fail their windows now, so the writes wait for the
        // reconnect and publish again instead of waiting out the request timeout.
        session.mux.failAll(new ConnectionError("the connection to NATS was lost while awaiting replies"));
      },
      onReconnect: () => session.link.restored(),
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

  /**
   * Publishes the batch (see `writeBatch`): resolves when every event not refused is acknowledged as
   * stored (or as a duplicate), naming the refused ones. An outage is waited out until the attempt's
   * signal aborts or `reconnectWaitMs` (default: the bus's `adapterTimeoutMs`) runs out.
   */
  protected write(batch: Batch, signal: AbortSignal): Promise<BatchResult | undefined> {
    const context: WriteContext = {
      session: this.live(),
      options: this.options,
      encoder: this.encoder,
      logger: this.logger,
      shutdownSignal: this.shutdownSignal,
      maxEventBytes: this.settled.maxEventBytes,
      waitMs:
        this.options.reconnectWaitMs ?? this.context.adapterTimeoutMs ?? JETSTREAM_DEFAULTS.reconnectWaitMs,
      counted: (window) => {
        this.stored += window.stored;
        this.duplicates += window.duplicates;
      },
    };
    return this.track(writeBatch(context, batch, signal).catch(this.scrubbed));
  }

  /** Whether `id` is a JetStream stream sequence (decimal, no leading zeros, at most 2^64-1): every entry id of this adapter. */
  isEntryId(id: string): boolean {
    return parseSequence(id) !== undefined;
  }

  /**
   * Reads up to `limit` events of `shard` strictly after `afterId` (a stream sequence; from the start
   * when undefined). `nextId` is the last examined entry of the page: the last event returned, or a
   * corrupt record skipped after it. A record naming another shard stops the page just before it (and
   * rejects with a `FatalError` when it comes first). Sequences are bigints: a cursor of 2^64-1 returns
   * the empty page, never wraps; a cursor that is not a decimal u64 is a `FatalError`. A cursor beyond
   * the stream's last sequence (a stream deleted and created again) rejects with a `StreamResetError`.
   */
  protected read(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    const limited = Math.min(limit, Number.MAX_SAFE_INTEGER - 1);
    const page = Promise.resolve().then(() => readShardPage(this.readContext(), shard, afterId, limited));
    return this.track(page.catch(this.scrubbed));
  }

  /**
   * Follows `shard` after `afterId` through an ephemeral pull consumer (see `followShard`); a cursor
   * beyond the stream's last sequence ends the iteration with a `StreamResetError`.
   */
  protected override async *follow(
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    try {
      yield* followShardPages(this.readContext(), shard, afterId, options);
    } catch (error) {
      this.scrubbed(error);
    }
  }

  /** The shards whose streams exist under this prefix (written by any process), from the server's list. */
  protected override discoverShards(): Promise<readonly number[]> {
    return Promise.resolve()
      .then(() => listShardStreams(this.live(), this.options.prefix))
      .catch(this.scrubbed);
  }

  private readContext(): ShardReadContext {
    return {
      session: this.live(),
      options: this.options,
      logger: this.logger,
      shutdownSignal: this.shutdownSignal,
    };
  }

  /** Consumer-group coordination in the KV bucket `{prefix}_groups` (see `group-coordinator.ts`). */
  coordination(): GroupCoordinator {
    this.groups ??= jetstreamCoordinator({ ...this.options, session: () => this.live() });
    return this.groups;
  }
  private groups: JetStreamCoordinator | undefined;

  /** True while connected and the server answers a ping within `requestTimeoutMs`. */
  protected override async ping(): Promise<boolean> {
    const session = this.session;
    if (session === undefined || !session.link.connected || session.connection.isClosed()) return false;
    const answered = session.connection.flush().then(
      () => true,
      () => false,
    );
    return within(answered, this.options.requestTimeoutMs, () => false);
  }

  /**
   * Lets batches and reads in flight finish, removes the reply subscription and, for a connection the
   * adapter opened, drains it; all within `drainTimeoutMs` (past it the connection is closed). A
   * connection that is down is closed at once, never drained: a drain would wait for a reconnect.
   */
  protected close(): Promise<void> {
    return this.closeSession().catch(this.scrubbed);
  }

  private async closeSession(): Promise<void> {
    // Let writes the base handed over just before the shutdown start, so they count as in flight.
    await new Promise((resolve) => setImmediate(resolve));
    const session = this.session;
    if (session === undefined) return;
    const { connection, link, owned } = session;
    const deadline = Date.now() + this.options.drainTimeoutMs;
    const alive = () => link.connected && !connection.isClosed();
    if (alive() && this.inFlight.size > 0) {
      // Writes waiting out an outage end with the shutdown signal; the others end with their acks.
      await within(
        Promise.allSettled([...this.inFlight]).then(() => true),
        this.options.drainTimeoutMs,
        () => false,
      );
    }
    this.session = undefined;
    session.reads.closeAll(); // deletes the read consumers, before the connection drains
    this.groups?.stop(); // the groups' follow consumers too
    session.mux.close(new AdapterShutdownError());
    session.streams.clear();
    if (owned) {
      if (alive()) await drainWithin(connection, Math.max(1, deadline - Date.now()));
      else await connection.close().catch(() => {});
    }
    this.logger.info({ adapter: "jetstream", prefix: this.options.prefix }, "JetStream adapter shut down");
  }

  /** The session; the base calls `write`, `read`, `follow` and `discoverShards` only when ready. */
  private live(): Session {
    if (this.session === undefined) throw new AdapterShutdownError();
    return this.session;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const untrack = () => this.inFlight.delete(work);
    work.then(untrack, untrack);
    return work;
  }
}
