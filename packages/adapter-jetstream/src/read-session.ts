import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { type Logger, isAdapterError } from "@netmesh/core/adapter";
import {
  API_CODES,
  type ApiErrorBody,
  StreamGoneError,
  UnavailableError,
  classifyApiError,
  describe,
} from "./classify.js";
import type { Delivery } from "./delivery.js";
import {
  PullGroup,
  SessionBroken,
  SessionGone,
  SessionUnanswered,
  sessionPatience,
  takePullSerial,
} from "./pull-group.js";
import { type Entry, type StoredMessage, decodeRecord } from "./record.js";
import { type ReplyMux, muxRequest } from "./reply-mux.js";
import { deliveredSequenceIn } from "./stream-reset.js";

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

/** The server deletes a session's consumer nobody pulled from for this long (a reader that vanished). */
const INACTIVE_THRESHOLD_MS = 30_000;
/** The smallest pull a session sends (even with a smaller `maxReadAhead`): a pull costs a round trip. */
const MIN_PULL = 256;
const NANOS_PER_MS = 1_000_000;

const decoder = new TextDecoder();

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
      const bound = sessionPatience(timeoutMs);
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
      const text = decoder.decode(reply.data);
      const answer = JSON.parse(text) as { name?: unknown; error?: ApiErrorBody };
      if (answer.error !== undefined) {
        if (answer.error.err_code === API_CODES.streamNotFound)
          throw new StreamGoneError(`${what}: the stream is gone`);
        throw classifyApiError(answer.error, what);
      }
      if (typeof answer.name !== "string") throw new SessionBroken(`${what}: the reply names no consumer`);
      this.consumer = answer.name;
      // Asked to start beyond the stream's end, a consumer starts at the end of the stream as its server
      // has it: the stream was created again since the cursor, or that server is a replica that lags.
      // The read goes on with direct gets, and its end asks the stream itself (see `forgetStream`).
      const delivered = deliveredSequenceIn(text);
      if (delivered !== undefined && delivered < this.coveredTo) {
        this.deleteConsumer();
        throw new SessionGone(
          `${what}: it starts after sequence ${delivered}, before the cursor ${this.coveredTo}`,
        );
      }
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
    const pull = new PullGroup(subject, batch, takePullSerial(), sessionPatience(timeoutMs));
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
