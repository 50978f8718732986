/** How long one pull request waits on the server for messages, ms. */
export const PULL_EXPIRES_MS = 5_000;
/**
 * The server sends an idle heartbeat (status 100) on a pull's reply subject after this long without a
 * message for it, ms. It lets a follower tell a pull that waits from one the server no longer holds.
 */
export const PULL_HEARTBEAT_MS = 200;
/**
 * Nothing at all (no message, no heartbeat) for this long while pulls are open means the server holds
 * none of them, ms: two heartbeats missed, with room for a busy event loop.
 */
export const PULL_SILENCE_MS = 2 * PULL_HEARTBEAT_MS + 100;
/**
 * A pull is renewed this long before it expires, ms, so the server always holds a younger one when an
 * older one expires. A server before 2.9.16 drops a pull without a 408 when a message meets it just past
 * its expiry (before the server's expiry timer ran): with a younger pull waiting behind it, that
 * message goes to the younger one instead of waiting for the follower to notice.
 */
export const PULL_RENEW_LEAD_MS = 1_000;

const NANOS_PER_MS = 1_000_000;

/** The pull request body for `batch` messages (the same for every pull of a follower). */
export function pullRequestBody(batch: number): string {
  return (
    `{"batch":${batch},"expires":${PULL_EXPIRES_MS * NANOS_PER_MS},` +
    `"idle_heartbeat":${PULL_HEARTBEAT_MS * NANOS_PER_MS}}`
  );
}

/** A pull the follower sent and has not seen end. */
interface OpenPull {
  readonly serial: number;
  /** When the server lets it expire, by this process's clock (it was received a little later). */
  readonly expiresAt: number;
}

/**
 * A follower's pull requests, and how many messages it has asked for that neither came nor were given
 * back. The server fills the open pulls round-robin and ends a filled pull without a status, so messages
 * cannot be counted per pull; the total can: it grows by each pull's batch, shrinks by one per message
 * and by the pending count of a pull's 408 (or the whole batch of a pull refused outright). That total
 * decides when to pull again; the pulls themselves are kept only for their expiry times, to renew the
 * youngest before it expires.
 *
 * Only a pull the server drops without a word (see {@link PULL_RENEW_LEAD_MS}) leaves the total too
 * high; the follower notices the silence that follows ({@link silent}) and starts over.
 */
export class FollowPulls {
  /** Messages asked for and still owed by the server. */
  asked = 0;
  private readonly open: OpenPull[] = [];
  private serial = 0;
  /** Statuses of pulls below this serial are ignored: they belong to pulls given up as lost. */
  private firstCounted = 1;
  /** The last time the server was heard from (or a pull was sent, which it answers). */
  private heardAt = 0;

  constructor(
    /** The reply subject of pull `n` is `${inbox}.${n}`. */
    private readonly inbox: string,
    private readonly batch: number,
  ) {}

  /** True when a pull should be sent now: half a pull or less is owed, or the youngest expires soon. */
  due(now: number): boolean {
    if (this.asked * 2 <= this.batch) return true;
    const youngest = this.open.at(-1);
    return youngest === undefined || youngest.expiresAt - PULL_RENEW_LEAD_MS <= now;
  }

  /** Records a pull being sent now; returns its reply subject. */
  send(now: number): string {
    const serial = ++this.serial;
    this.open.push({ serial, expiresAt: now + PULL_EXPIRES_MS });
    this.asked += this.batch;
    this.heardAt = now;
    return `${this.inbox}.${serial}`;
  }

  /** One message came (for one of the pulls: which one, the server does not say). */
  delivered(): void {
    if (this.asked > 0) this.asked--;
  }

  /** The server sent something (a message, a status): it holds the pulls it has not ended. */
  heard(now: number): void {
    this.heardAt = now;
  }

  /**
   * A status on `subject` ended a pull: `pending` is its `Nats-Pending-Messages` header, the messages
   * it was still owed (absent when the pull was refused before it waited, or released without a
   * count). Returns false when it is no pull of this follower's that still counts.
   */
  ended(subject: string, pending: string | undefined): boolean {
    const serial = this.serialOf(subject);
    if (serial === undefined || serial < this.firstCounted) return false;
    const at = this.open.findIndex((pull) => pull.serial === serial);
    if (at !== -1) this.open.splice(at, 1);
    const owed = pending === undefined ? this.batch : Number(pending);
    this.asked = Math.max(0, this.asked - (Number.isSafeInteger(owed) ? owed : this.batch));
    return true;
  }

  /** True when `subject` is the reply subject of one of this follower's pulls that still counts. */
  isCounted(subject: string): boolean {
    const serial = this.serialOf(subject);
    return serial !== undefined && serial >= this.firstCounted;
  }

  /** Forgets the pulls that have expired by now (their 408 may still come, and is still counted). */
  expire(now: number): void {
    while (this.open.length > 0 && this.open[0]!.expiresAt <= now) this.open.shift();
  }

  /** True when messages are owed but the server has said nothing for {@link PULL_SILENCE_MS}. */
  silent(now: number): boolean {
    return this.asked > 0 && now - this.heardAt >= PULL_SILENCE_MS;
  }

  /** Gives every pull up (lost, or the consumer is replaced): their statuses no longer count. */
  clear(): void {
    this.open.length = 0;
    this.asked = 0;
    this.firstCounted = this.serial + 1;
  }

  /** When the follower must look again if nothing comes: a renewal, an expiry, or the silence bound. */
  nextCheck(): number {
    let at = Number.POSITIVE_INFINITY;
    const oldest = this.open[0];
    const youngest = this.open.at(-1);
    if (oldest !== undefined) at = Math.min(oldest.expiresAt, youngest!.expiresAt - PULL_RENEW_LEAD_MS);
    if (this.asked > 0) at = Math.min(at, this.heardAt + PULL_SILENCE_MS);
    return at;
  }

  private serialOf(subject: string): number | undefined {
    if (subject.length <= this.inbox.length + 1 || !subject.startsWith(this.inbox)) return undefined;
    const serial = Number(subject.slice(this.inbox.length + 1));
    return Number.isSafeInteger(serial) && serial > 0 ? serial : undefined;
  }
}
