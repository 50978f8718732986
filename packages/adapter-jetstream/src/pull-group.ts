import type { Msg } from "@nats-io/nats-core";
import { AdapterShutdownError, TransientError, isAdapterError } from "@netmesh/core/adapter";
import { StreamGoneError } from "./classify.js";
import { IdleTimer, ReplyGroup } from "./reply-mux.js";
import { StreamResetError } from "./stream-reset.js";

/**
 * Most a session waits for its consumer's creation, or in silence between the deliveries of a pull: a
 * healthy server answers a `no_wait` pull at once. Past it the read goes on with windows.
 */
const SESSION_PATIENCE_MS = 1_000;

/**
 * How long a session waits for an answer before the read goes on with direct gets: a second, or half of
 * `timeoutMs` (`requestTimeoutMs`) when that is shorter. The wait counts toward the read's bound on
 * making no progress, so the direct gets that follow keep the rest of it: a read on a server that does
 * not answer fails once `timeoutMs` passed, whether it began in a session or not.
 */
export function sessionPatience(timeoutMs: number): number {
  return Math.max(1, Math.min(SESSION_PATIENCE_MS, Math.floor(timeoutMs / 2)));
}

/** Numbers every pull sent, so a read can tell a pull sent during it from an older read-ahead. */
let pullSerial = 0;

/** The serial the next pull will get: a pull with at least this serial was sent after now. */
export function nextPullSerial(): number {
  return pullSerial + 1;
}

/** Takes the serial of a pull being sent. */
export function takePullSerial(): number {
  return ++pullSerial;
}

/**
 * The session cannot serve the read (its consumer is gone, refused a pull, lost a delivery, or answered
 * nothing in time). Never reaches the caller: the read goes on with direct gets.
 */
export class SessionBroken extends TransientError {}

/** A session's consumer creation or pull went unanswered (its server may be stopped or cut off). */
export class SessionUnanswered extends SessionBroken {}

/** A session's consumer is gone (deleted, perhaps with its stream): a pull's 409 "consumer deleted" or 503. */
export class SessionGone extends SessionBroken {}

/**
 * True when a session's failure is better answered by reading on with direct gets than by failing the
 * read: anything but a lost connection (direct gets would fail the same way) and the shutdown.
 */
export function isSessionFallback(error: unknown): boolean {
  if (error instanceof AdapterShutdownError || error instanceof StreamGoneError) return false;
  if (error instanceof StreamResetError) return false;
  return !(isAdapterError(error) && error.kind === "connection");
}

/**
 * One `no_wait` pull request: its deliveries go to the session (routed by consumer name, see
 * `ReplyMux.routeDeliveries`), which counts them here; its status replies (the server has no more)
 * come to the pull's reply subject. Completes when `batch` messages came or the server said it has
 * no more.
 */
export class PullGroup extends ReplyGroup {
  /** True once the server said it has nothing more for this pull (status 404 or 408). */
  ended = false;
  private received = 0;
  private readonly idle: IdleTimer;

  constructor(
    readonly subject: string,
    private readonly batch: number,
    /** Orders the pulls: an "end" only counts for reads that started before the pull was sent. */
    readonly serial: number,
    /** Silence that fails the pull, ms (see {@link sessionPatience}). */
    patienceMs: number,
  ) {
    super();
    this.idle = new IdleTimer(patienceMs, () => {
      this.fail(new SessionUnanswered(`a pull on ${subject} went unanswered for ${patienceMs} ms`));
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
    const description = msg.headers?.description ?? "";
    const gone = code === 503 || (code === 409 && /consumer deleted/i.test(description));
    const Broken = gone ? SessionGone : SessionBroken;
    this.fail(new Broken(`pull on ${this.subject}: status ${code} ${description}`));
  }
}
