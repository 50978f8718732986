import type { Msg, NatsConnection } from "@nats-io/nats-core";
import {
  AdapterShutdownError,
  FatalError,
  type Logger,
  TransientError,
  isAdapterError,
} from "@netmesh/core/adapter";
import {
  API_CODES,
  type ApiErrorBody,
  StreamGoneError,
  UnavailableError,
  classifyApiError,
  describe,
} from "./classify.js";
import type { Delivery } from "./delivery.js";
import { type Entry, type StoredMessage, decodeRecord } from "./record.js";
import { IdleTimer, ReplyGroup, type ReplyMux, muxRequest } from "./reply-mux.js";

/** The message of an entry decoded on arrival (see `ReadSession.deliver`). */
const DECODED: StoredMessage = Object.freeze({ data: new Uint8Array(0) });

/** What a session needs to reach its shard's stream. */
export interface SessionContext {
  readonly connection: NatsConnection;
  readonly mux: ReplyMux;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Most messages one pull asks for (`maxReadAhead`). */
  readonly maxPull: number;
  /** The stream's name and its shard subject. */
  readonly stream: string;
  readonly subject: string;
}

/** Smallest `limit` whose reads go through a consumer session (smaller pages use direct gets only). */
export const SESSION_MIN_LIMIT = 64;
/** Most sessions one adapter keeps open, over all shards; the least recently used is closed first. */
const MAX_SESSIONS = 32;
/** A session unused this long is closed at the next read (the server drops its consumer later anyway). */
const SESSION_IDLE_MS = 20_000;
/** The server deletes a session's consumer nobody pulled from for this long (a reader that vanished). */
const INACTIVE_THRESHOLD_MS = 30_000;
/** After a session failed (not refused), no new one for this long. */
const SESSION_RETRY_MS = 1_000;
/** After the server refused to create a consumer (an API error, e.g. a consumer limit), no new one for this long. */
const SESSION_REFUSED_MS = 30_000;
/** The smallest pull a session sends (even with a smaller `maxReadAhead`): a pull costs a round trip. */
const MIN_PULL = 256;
/** How long a stream whose replicas left requests unanswered is read from its leader only. */
const LOSSY_MS = 10_000;
/**
 * Bound on a session's consumer creation, and on the silence between the deliveries of a pull: a
 * healthy server answers a `no_wait` pull at once. Past it the read goes on with windows.
 */
const SESSION_PATIENCE_MS = 1_000;
const NANOS_PER_MS = 1_000_000;

const decoder = new TextDecoder();
/** Numbers every pull sent, so a read can tell a pull sent during it from an older read-ahead. */
let pullSerial = 0;

/** The serial the next pull will get: a pull with at least this serial was sent after now. */
export function nextPullSerial(): number {
  return pullSerial + 1;
}

/**
 * The session cannot serve the read (its consumer is gone, refused a pull, lost a delivery, or answered
 * nothing in time). Never reaches the caller: the read goes on with direct gets.
 */
export class SessionBroken extends TransientError {}

/** A session's consumer creation or pull went unanswered (its server may be stopped or cut off). */
export class SessionUnanswered extends SessionBroken {}

/**
 * True when a session's failure is better answered by reading on with direct gets than by failing the
 * read: anything but a lost connection (direct gets would fail the same way) and the shutdown.
 */
export function isSessionFallback(error: unknown): boolean {
  if (error instanceof AdapterShutdownError || error instanceof StreamGoneError) return false;
  return !(isAdapterError(error) && error.kind === "connection");
}

/**
 * One `no_wait` pull request: its deliveries go to the session (routed by consumer name, see
 * `ReplyMux.routeDeliveries`), which counts them here; its status replies (the server has no more)
 * come to the pull's reply subject. Completes when `batch` messages came or the server said it has
 * no more.
 */
class PullGroup extends ReplyGroup {
  /** True once the server said it has nothing more for this pull (status 404 or 408). */
  ended = false;
  private received = 0;
  private readonly idle: IdleTimer;

  constructor(
    readonly subject: string,
    private readonly batch: number,
    /** Orders the pulls: an "end" only counts for reads that started before the pull was sent. */
    readonly serial: number,
  ) {
    super();
    this.idle = new IdleTimer(SESSION_PATIENCE_MS, () => {
      this.fail(new SessionUnanswered(`a pull on ${subject} went unanswered for ${SESSION_PATIENCE_MS} ms`));
    });
  }

  protected override onSettled(): void {
    this.idle.stop();
  }

  /** A message of this pull was delivered (to the session). */
  counted(): void {
    if (this.isSettled) return;
    this.idle.progress++;
    if (++this.received === this.batch) this.complete();
  }

  onReply(index: number, msg: Msg): void {
    if (this.isSettled || index !== 0) return;
    const code = msg.headers?.code ?? 0;
    if (code === 100) return; // an idle heartbeat (none are asked for)
    if (code === 404 || code === 408) {
      this.ended = true;
      this.complete();
      return;
    }
    // 409: consumer deleted, too many pulls waiting, …; 503: no consumer listens (deleted).
    this.fail(new SessionBroken(`pull on ${this.subject}: status ${code} ${msg.headers?.description ?? ""}`));
  }
}

/**
 * A consumer that keeps reading a shard for a reader that pages through it: an ephemeral pull consumer
 * (ack none, memory storage, one replica) started after a cursor, whose deliveries are kept in order.
 * A page is taken from what was delivered; a pull asks for the rest (`no_wait`: the server answers at
 * once, with what it has and a status when it has less); after a page that left more to read, the next
 * page is asked for at once (read-ahead), so it is usually there when the reader comes back for it.
 *
 * Invariant: `entries` holds every stream message in (`floor`, `coveredTo`], in order (the consumer
 * delivers the subject's messages in stream order and a gap in its delivery count breaks the session),
 * so any read after a cursor in [`floor`, `coveredTo`] can be served from it. The last page handed out
 * is kept (`floor` is the cursor it was read after), so a reader that used only part of it can resume
 * inside it.
 */
export class ReadSession {
  consumer: string | undefined;
  floor: bigint;
  coveredTo: bigint;
  /** A reader is using the session (one at a time). */
  busy = false;
  /** Why the session can no longer be used, once it cannot. */
  broken: Error | undefined;
  lastUsed = Date.now();
  private entries: Entry[] = [];
  private delivered = 0;
  private pull: PullGroup | undefined;
  private creating: Promise<void> | undefined;
  private unroute: (() => void) | undefined;
  /** The read waiting for entries (one at a time: a session has one reader). */
  private waiter: { target: number; resolve: () => void; reject: (error: unknown) => void } | undefined;
  private closed = false;

  constructor(
    private readonly context: SessionContext,
    readonly shard: number,
    after: bigint,
  ) {
    this.floor = after;
    this.coveredTo = after;
  }

  /**
   * True when a read after `after` can be served from this session: `after` is in the last page handed
   * out or after it, not further than one pull beyond what the consumer delivered (the consumer goes on
   * delivering every message after that, in order; what is not after `after` is skipped).
   */
  covers(after: bigint): boolean {
    return (
      this.broken === undefined &&
      !this.closed &&
      this.floor <= after &&
      after <= this.coveredTo + BigInt(this.context.maxPull)
    );
  }

  /** A message the consumer delivered (routed here by the mux). */
  private deliver(msg: Msg, delivery: Delivery): void {
    if (this.broken !== undefined) return;
    if (delivery.consumerSequence !== this.delivered + 1) {
      const error = new SessionBroken(
        `a delivery of ${this.context.stream} was lost (consumer sequence ${delivery.consumerSequence} after ${this.delivered})`,
      );
      this.breakWith(error);
      this.pull?.fail(error);
      this.wake(true, error);
      return;
    }
    this.delivered = delivery.consumerSequence;
    const sequence = BigInt(delivery.streamSequence);
    if (sequence > this.coveredTo) {
      // Decoded now, so the session keeps the event's text rather than the client's message and the
      // socket buffer it points into.
      const record = decodeRecord(msg, this.shard, delivery.streamSequence);
      this.entries.push({ sequence, id: delivery.streamSequence, msg: DECODED, record });
      this.coveredTo = sequence;
    }
    this.pull?.counted();
    this.wake(false);
  }

  /**
   * Up to `wanted` entries after `after` (which {@link covers} must accept): what was delivered, then
   * pulls for the rest; it returns as soon as `wanted` entries are there, while a pull asking for more
   * goes on arriving. `end` is true when a pull sent during this read (its serial at least
   * `firstSerial`, from {@link nextPullSerial} when the read started) found nothing more. That is not
   * the end of the stream: the server tells a consumer of new messages asynchronously, so a pull right
   * after a write was acknowledged can still find nothing (and a consumer on a replica can lag): the
   * reader checks.
   */
  async read(
    after: bigint,
    wanted: number,
    firstSerial: number,
  ): Promise<{ entries: Entry[]; end: boolean }> {
    await this.ready();
    let from = this.indexAfter(after);
    const found: Entry[] = [];
    while (found.length < wanted && from < this.entries.length) found.push(this.entries[from++]!);
    while (found.length < wanted) {
      const pull = this.pull ?? this.sendPull(wanted - found.length);
      await this.arrival(from + (wanted - found.length), pull);
      while (found.length < wanted && from < this.entries.length) {
        // A read can start past what the consumer had delivered (see `covers`): skip up to `after`.
        const entry = this.entries[from++]!;
        if (entry.sequence > after) found.push(entry);
      }
      if (found.length < wanted && pull.ended && pull.serial >= firstSerial) {
        return { entries: found, end: true };
      }
    }
    return { entries: found, end: false };
  }

  /**
   * The reader is behind: it will want the `wanted` entries after `next` (its page's last entry) next.
   * What the session does not hold yet of them is pulled now (read-ahead), so it arrives while the
   * reader decodes and uses this page. A pull asks for up to two pages' worth (within `maxPull`), so a
   * reader moving page by page meets one round trip for every other page at most.
   */
  readAhead(next: bigint, wanted: number): void {
    if (this.broken !== undefined || this.pull !== undefined || this.consumer === undefined) return;
    const ahead = this.entries.length - this.indexAfter(next);
    if (ahead >= wanted) return;
    this.sendPull(Math.max(wanted - ahead, Math.min(2 * wanted - ahead, this.context.maxPull)));
  }

  /**
   * Resolves once the session holds `target` entries, or `pull` has settled (rejects when it failed):
   * a read takes its page as soon as its entries are there.
   */
  private arrival(target: number, pull: PullGroup): Promise<void> {
    if (this.entries.length >= target || pull.isSettled) {
      return pull.isSettled && this.broken !== undefined ? Promise.reject(this.broken) : Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.waiter = { target, resolve, reject };
    });
  }

  /** Wakes the waiting read when its entries are there, or when the pull settled (`error` if it failed). */
  private wake(settled: boolean, error?: unknown): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    if (error !== undefined) {
      this.waiter = undefined;
      waiter.reject(error);
    } else if (settled || this.entries.length >= waiter.target) {
      this.waiter = undefined;
      waiter.resolve();
    }
  }

  /**
   * A page after `after` was handed out: keep it (and what follows, so a reader that used only part of
   * it can resume inside it) and forget what precedes it.
   */
  settle(after: bigint): void {
    this.lastUsed = Date.now();
    const from = this.indexAfter(after);
    if (from > 0) this.entries = this.entries.slice(from);
    this.floor = after;
  }

  /** Stops the session and deletes its consumer (without waiting). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.broken ??= new SessionBroken("the session was closed");
    this.entries = [];
    this.unroute?.();
    this.pull?.fail(new SessionBroken("the session was closed"));
    this.wake(true, this.broken);
    this.deleteConsumer();
  }

  private deleteConsumer(): void {
    const consumer = this.consumer;
    const { connection, mux, stream, timeoutMs } = this.context;
    if (consumer === undefined || connection.isClosed()) return;
    const subject = `$JS.API.CONSUMER.DELETE.${stream}.${consumer}`;
    // Not awaited: the server drops the consumer after its inactive threshold anyway.
    muxRequest(connection, mux, subject, "", timeoutMs, "delete a read consumer").catch(() => {});
  }

  private breakWith(error: unknown): void {
    this.broken ??= error instanceof Error ? error : new SessionBroken(String(error));
  }

  /** Index of the first entry after `after` (the entries are in sequence order: a binary search). */
  private indexAfter(after: bigint): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.entries[middle]!.sequence <= after) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private ready(): Promise<void> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    this.creating ??= this.create();
    return this.creating;
  }

  /** Creates the consumer, starting after `coveredTo`; a failure breaks the session. */
  private async create(): Promise<void> {
    const { connection, mux, stream, subject, timeoutMs } = this.context;
    const what = `create a consumer to read ${stream}`;
    const body =
      `{"stream_name":${JSON.stringify(stream)},"config":{"deliver_policy":"by_start_sequence",` +
      `"opt_start_seq":${(this.coveredTo + 1n).toString()},"ack_policy":"none","replay_policy":"instant",` +
      `"filter_subject":${JSON.stringify(subject)},"inactive_threshold":${INACTIVE_THRESHOLD_MS * NANOS_PER_MS},` +
      `"mem_storage":true,"num_replicas":1}}`;
    try {
      const bound = Math.min(timeoutMs, SESSION_PATIENCE_MS);
      const reply = await muxRequest(
        connection,
        mux,
        `$JS.API.CONSUMER.CREATE.${stream}`,
        body,
        bound,
        what,
      ).catch((error: unknown) => {
        // Unanswered within the bound: the read goes on with windows.
        throw isAdapterError(error) && error.kind === "transient" && !(error instanceof UnavailableError)
          ? new SessionUnanswered(`${what}: no answer within ${bound} ms`)
          : error;
      });
      if (reply.data.length === 0) {
        throw new SessionBroken(
          `${what}: status ${reply.headers?.code ?? 0} ${reply.headers?.description ?? ""}`,
        );
      }
      const answer = JSON.parse(decoder.decode(reply.data)) as { name?: unknown; error?: ApiErrorBody };
      if (answer.error !== undefined) {
        if (answer.error.err_code === API_CODES.streamNotFound)
          throw new StreamGoneError(`${what}: the stream is gone`);
        throw classifyApiError(answer.error, what);
      }
      if (typeof answer.name !== "string") throw new SessionBroken(`${what}: the reply names no consumer`);
      this.consumer = answer.name;
      if (this.closed) this.deleteConsumer();
      else this.unroute = mux.routeDeliveries(answer.name, (msg, delivery) => this.deliver(msg, delivery));
    } catch (error) {
      this.breakWith(error);
      throw error;
    }
  }

  private sendPull(count: number): PullGroup {
    const { connection, mux, stream, timeoutMs, maxPull } = this.context;
    const batch = Math.max(1, Math.min(count, Math.max(maxPull, MIN_PULL)));
    const subject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${this.consumer}`;
    const pull = new PullGroup(subject, batch, ++pullSerial);
    mux.open(pull, timeoutMs, `a pull of ${batch} messages from ${stream}`);
    this.pull = pull;
    pull.done.then(
      () => {
        if (this.pull === pull) this.pull = undefined;
        this.wake(true);
      },
      (error: unknown) => {
        if (this.pull === pull) this.pull = undefined;
        this.breakWith(error);
        this.wake(true, error);
      },
    );
    try {
      connection.publish(subject, `{"batch":${batch},"no_wait":true}`, { reply: `${pull.replyPrefix}0` });
    } catch (error) {
      pull.fail(new SessionBroken(`pull on ${stream}: ${describe(error)}`));
    }
    return pull;
  }
}

/**
 * The adapter's read sessions: at most {@link MAX_SESSIONS} (the least recently used is closed first),
 * several per shard when readers page through it at different places; and which streams' replicas
 * leave requests unanswered lately (see {@link ReadSessions.markLossy}).
 */
export class ReadSessions {
  private readonly sessions: ReadSession[] = [];
  /** Streams whose replicas left requests unanswered lately, with when that mark expires. */
  private readonly lossy = new Map<string, number>();
  private pausedUntil = 0;
  private permanentlyOff = false;

  constructor(private readonly logger: Logger) {}

  /**
   * A session to read `shard` after `after`, marked busy: an open one that holds or can deliver what
   * follows `after`, else a new one for a page of at least {@link SESSION_MIN_LIMIT}. `undefined` when
   * the read should use direct gets: a smaller page with no open session there, sessions refused or
   * paused, or a stream marked lossy.
   */
  acquire(context: SessionContext, shard: number, after: bigint, limit: number): ReadSession | undefined {
    const now = Date.now();
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const session = this.sessions[i]!;
      if (session.busy) continue;
      if (session.broken !== undefined || now - session.lastUsed > SESSION_IDLE_MS) {
        this.sessions.splice(i, 1);
        session.close();
      }
    }
    const open = this.sessions.find((s) => s.shard === shard && !s.busy && s.covers(after));
    if (open !== undefined) {
      this.touch(open);
      open.busy = true;
      return open;
    }
    if (limit < SESSION_MIN_LIMIT || this.permanentlyOff || now < this.pausedUntil) return undefined;
    if (this.isLossy(context.stream)) return undefined;
    const session = new ReadSession(context, shard, after);
    session.busy = true;
    this.sessions.push(session);
    if (this.sessions.length > MAX_SESSIONS) {
      const oldest = this.sessions.findIndex((s) => !s.busy);
      if (oldest !== -1) this.sessions.splice(oldest, 1)[0]!.close();
    }
    return session;
  }

  /** The read is done with the session. */
  release(session: ReadSession): void {
    session.busy = false;
    session.lastUsed = Date.now();
  }

  /**
   * The session failed (`error`): it is closed, and the read goes on with direct gets. A refusal
   * (permissions: the account may not create consumers) turns sessions off for good; other failures
   * pause them briefly.
   */
  discard(session: ReadSession, error: unknown): void {
    const i = this.sessions.indexOf(session);
    if (i !== -1) this.sessions.splice(i, 1);
    session.busy = false;
    session.close();
    if (error instanceof FatalError && /permission/i.test(error.message)) {
      if (!this.permanentlyOff) {
        this.permanentlyOff = true;
        this.logger.warn(
          { adapter: "jetstream", shard: session.shard, error: describe(error) },
          "reads may not use consumers (permissions); reading with direct gets only",
        );
      }
      return;
    }
    this.pausedUntil = Date.now() + (error instanceof FatalError ? SESSION_REFUSED_MS : SESSION_RETRY_MS);
    this.logger.debug(
      { adapter: "jetstream", shard: session.shard, error: describe(error) },
      "read session dropped; reading on with direct gets",
    );
  }

  /**
   * Replicas of `stream` left requests unanswered (a stopped or partitioned replica): for
   * {@link LOSSY_MS}, its reads ask the stream leader and use no sessions.
   */
  markLossy(stream: string): void {
    this.lossy.set(stream, Date.now() + LOSSY_MS);
  }

  /** True while `stream` is marked by {@link ReadSessions.markLossy}. */
  isLossy(stream: string): boolean {
    const until = this.lossy.get(stream);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.lossy.delete(stream);
    return false;
  }

  /** Closes every session (shutdown). */
  closeAll(): void {
    for (const session of this.sessions.splice(0)) session.close();
  }

  private touch(session: ReadSession): void {
    const i = this.sessions.indexOf(session);
    if (i !== -1 && i !== this.sessions.length - 1) {
      this.sessions.splice(i, 1);
      this.sessions.push(session);
    }
  }
}
