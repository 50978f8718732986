import { type Msg, type NatsConnection, type Subscription, nuid } from "@nats-io/nats-core";
import { type AdapterError, FatalError, TransientError } from "@netmesh/core/adapter";
import { describe } from "./classify.js";

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

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.release?.();
    return true;
  }
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
          this.failAll(new FatalError(`reply subscription failed: ${describe(error)}`, { cause: error }));
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
      group.fail(new TransientError(`${what} aborted by the caller`, { cause: signal?.reason }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    group.attach(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      this.groups.delete(key);
    });
  }

  /** Fails every pending group (connection lost, shutdown, permission revoked). */
  failAll(error: AdapterError): void {
    for (const group of [...this.groups.values()]) group.fail(error);
  }

  /** Fails the pending groups whose requests went to `subject`. */
  failSubject(subject: string, error: AdapterError): void {
    for (const group of [...this.groups.values()]) {
      if (group.subject === subject) group.fail(error);
    }
  }

  /** Stops listening; pending groups fail with `error`. */
  close(error: AdapterError): void {
    this.failAll(error);
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
    const subject = msg.subject;
    const last = subject.lastIndexOf(".");
    const group = this.groups.get(subject.slice(this.base.length + 1, last));
    if (group === undefined) return; // a late reply to a group that timed out or failed
    const index = Number(subject.slice(last + 1));
    if (!Number.isInteger(index)) return;
    group.onReply(index, msg);
  }
}
