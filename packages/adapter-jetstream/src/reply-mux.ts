import { type Msg, type NatsConnection, type Subscription, nuid } from "@nats-io/nats-core";
import { type AdapterError, FatalError, TransientError } from "@netmesh/core/adapter";
import { classifyClientError, describe } from "./classify.js";
import { type Delivery, type MutableDelivery, parseDeliveryInto } from "./delivery.js";
import { scrubbedCopy } from "./redaction.js";

/**
 * A set of requests sent together whose replies are collected by one {@link ReplyMux} subscription:
 * one promise and one timer per group, none per message. Subclasses handle each reply; the group
 * settles once, when {@link ReplyGroup.complete} or {@link ReplyGroup.fail} is first called.
 */
export abstract class ReplyGroup {
  /** Settles when the group completes or fails. */
  readonly done: Promise<void>;
  /** The reply subject of request `i` is `replyPrefix + i`; set by {@link ReplyMux.open}. */
  replyPrefix = "";
  /** The subject the group's requests were sent to, so a permission error can name its victims. */
  abstract readonly subject: string;
  private settled = false;
  private resolveDone!: () => void;
  private rejectDone!: (error: AdapterError) => void;
  private release: (() => void) | undefined;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A group can fail before anyone awaits it (a disconnect while publishing): never unhandled.
    this.done.catch(() => {});
  }

  /** True once the group has completed or failed: later replies are ignored. */
  get isSettled(): boolean {
    return this.settled;
  }

  /** Handles the reply to request `index` (called by the mux; never throws). */
  abstract onReply(index: number, msg: Msg): void;

  /** Resolves the group. */
  complete(): void {
    if (this.settle()) this.resolveDone();
  }

  /** Rejects the group with `error`. */
  fail(error: AdapterError): void {
    if (this.settle()) this.rejectDone(error);
  }

  /** @internal Set by the mux: detaches the group (timer, abort listener, registration). */
  attach(release: () => void): void {
    this.release = release;
  }

  /** Called once when the group settles (completes or fails): subclasses release timers of their own here. */
  protected onSettled(): void {}

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.release?.();
    this.onSettled();
    return true;
  }
}

/**
 * Calls `onIdle` once `ms` pass without progress: the owner bumps `progress` for each reply, which
 * costs nothing per reply (no timer is moved); when the timer fires after progress, it waits again.
 */
export class IdleTimer {
  progress = 0;
  private seen = 0;
  private timer: NodeJS.Timeout;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.timer = setTimeout(this.tick, ms);
  }

  private readonly tick = (): void => {
    if (this.progress === this.seen) {
      this.onIdle();
      return;
    }
    this.seen = this.progress;
    this.timer = setTimeout(this.tick, this.ms);
  };

  stop(): void {
    clearTimeout(this.timer);
  }
}

/** A watcher of {@link ReplyMux.watchRefusals}. */
interface RefusalWatcher {
  readonly prefix: string;
  readonly onRefused: (error: AdapterError) => void;
}

/** One request whose single reply (or status) resolves it: an API call made through the mux. */
class SingleReplyGroup extends ReplyGroup {
  reply: Msg | undefined;

  constructor(readonly subject: string) {
    super();
  }

  onReply(index: number, msg: Msg): void {
    if (this.isSettled || index !== 0) return;
    this.reply = msg;
    this.complete();
  }
}

/**
 * Sends one request through the mux and resolves its reply (a status reply too: the caller reads
 * `headers.code`). Rejects with a {@link TransientError} after `timeoutMs`, and with what the mux fails
 * it with (a lost connection, a permission violation on `subject`).
 */
export async function muxRequest(
  connection: NatsConnection,
  mux: ReplyMux,
  subject: string,
  body: string | Uint8Array,
  timeoutMs: number,
  what: string,
): Promise<Msg> {
  const group = new SingleReplyGroup(subject);
  mux.open(group, timeoutMs, what);
  try {
    connection.publish(subject, body, { reply: `${group.replyPrefix}0` });
  } catch (error) {
    group.fail(classifyClientError(error, what));
  }
  await group.done;
  return group.reply!;
}

/**
 * One wildcard subscription, `{inbox}.*.*`, that receives the replies of every request the adapter
 * sends: request `i` of group `g` asks for its reply on `{inbox}.{g}.{i}`. So a batch of 10,000
 * publishes costs one subscription, one map lookup and one counter per ack, and no promise, timer or
 * Error per message (the stock client makes all three, and the Error's stack trace is its largest cost).
 */
export class ReplyMux {
  private readonly base: string;
  private readonly groups = new Map<string, ReplyGroup>();
  private readonly consumers = new Map<string, (msg: Msg, delivery: Delivery) => void>();
  /** Filled for each delivered message and read by its handler before the next (see `routeDeliveries`). */
  private readonly delivery: MutableDelivery = {
    consumer: "",
    streamSequence: "",
    consumerSequence: 0,
    pending: 0,
  };
  /** Who wants to hear of refused publishes to subjects under a prefix (see {@link watchRefusals}). */
  private readonly refusalWatchers = new Set<RefusalWatcher>();
  private subscription: Subscription | undefined;
  private nextGroup = 0;

  constructor(
    private readonly connection: NatsConnection,
    inboxPrefix: string,
  ) {
    this.base = `${inboxPrefix}.${nuid.next()}`;
  }

  /** Subscribes to the replies. */
  start(): void {
    if (this.subscription !== undefined) return;
    this.subscription = this.connection.subscribe(`${this.base}.*.*`, {
      callback: (error, msg) => {
        if (error !== null) {
          this.failAll(
            new FatalError(`reply subscription failed: ${describe(error)}`, { cause: scrubbedCopy(error) }),
          );
          return;
        }
        this.dispatch(msg);
      },
    });
  }

  /** Groups waiting for replies. */
  get pending(): number {
    return this.groups.size;
  }

  /**
   * Registers `group` for replies, bounded by `timeoutMs` and by `signal` (both fail it with a
   * {@link TransientError}: the requests may have been applied, and a retry is safe).
   */
  open(group: ReplyGroup, timeoutMs: number, what: string, signal?: AbortSignal): void {
    const key = String(this.nextGroup++);
    group.replyPrefix = `${this.base}.${key}.`;
    this.groups.set(key, group);
    const timer = setTimeout(() => {
      group.fail(new TransientError(`${what} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = () => {
      const cause = signal?.reason === undefined ? {} : { cause: scrubbedCopy(signal.reason) };
      group.fail(new TransientError(`${what} aborted by the caller`, cause));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    group.attach(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      this.groups.delete(key);
    });
  }

  /**
   * Routes the messages a JetStream consumer delivers to a pull sent through the mux to `handler`. A
   * delivery keeps the stored message's subject (only the subscription matches the pull's reply
   * subject), so it is told apart by its `$JS.ACK…` reply, which names the consumer. The delivery
   * object is reused for the next message: `handler` reads it at once. Returns the function that stops
   * the routing.
   */
  routeDeliveries(consumer: string, handler: (msg: Msg, delivery: Delivery) => void): () => void {
    this.consumers.set(consumer, handler);
    return () => {
      if (this.consumers.get(consumer) === handler) this.consumers.delete(consumer);
    };
  }

  /** Fails every pending group (connection lost, shutdown, permission revoked). */
  failAll(error: AdapterError): void {
    for (const group of [...this.groups.values()]) group.fail(error);
  }

  /**
   * Fails the pending groups whose requests went to `subject` (the server refused a publish to it),
   * and tells the watchers of a prefix of it.
   */
  failSubject(subject: string, error: AdapterError): void {
    for (const group of [...this.groups.values()]) {
      if (group.subject === subject) group.fail(error);
    }
    for (const watcher of [...this.refusalWatchers]) {
      if (subject.startsWith(watcher.prefix)) watcher.onRefused(error);
    }
  }

  /**
   * Calls `onRefused` when the server refuses a publish to a subject starting with `prefix` (a
   * permission violation), for publishes that expect no reply of their own through the mux (a
   * follower's pulls). Returns the function that stops it.
   */
  watchRefusals(prefix: string, onRefused: (error: AdapterError) => void): () => void {
    const watcher: RefusalWatcher = { prefix, onRefused };
    this.refusalWatchers.add(watcher);
    return () => this.refusalWatchers.delete(watcher);
  }

  /** Stops listening; pending groups fail with `error`. */
  close(error: AdapterError): void {
    this.failAll(error);
    this.consumers.clear();
    this.refusalWatchers.clear();
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription !== undefined && !subscription.isClosed()) {
      try {
        subscription.unsubscribe();
      } catch {
        // The connection is closing or closed: the subscription goes with it.
      }
    }
  }

  private dispatch(msg: Msg): void {
    // A consumer's delivery carries its `$JS.ACK…` reply (and the stored message's subject); a reply
    // to a request (or a status for a pull) carries none and comes on the request's reply subject.
    const reply = msg.reply;
    if (reply?.startsWith("$JS.ACK.")) {
      const delivery = this.delivery;
      if (parseDeliveryInto(reply, delivery)) this.consumers.get(delivery.consumer)?.(msg, delivery);
      return;
    }
    const subject = msg.subject;
    if (!subject.startsWith(this.base) || subject.charCodeAt(this.base.length) !== 46 /* . */) return;
    const last = subject.lastIndexOf(".");
    const group = this.groups.get(subject.slice(this.base.length + 1, last));
    if (group === undefined) return; // a late reply to a group that timed out or failed
    const index = Number(subject.slice(last + 1));
    if (!Number.isInteger(index)) return;
    group.onReply(index, msg);
  }
}
