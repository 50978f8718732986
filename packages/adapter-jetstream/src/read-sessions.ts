import { FatalError, type Logger } from "@netmesh/core/adapter";
import { describe } from "./classify.js";
import { ReadSession, type SessionContext } from "./read-session.js";

/** Smallest `limit` whose reads go through a consumer session (smaller pages use direct gets only). */
export const SESSION_MIN_LIMIT = 64;
/** Most sessions one adapter keeps open, over all shards; the least recently used is closed first. */
const MAX_SESSIONS = 32;
/** A session unused this long is closed at the next read (the server drops its consumer later anyway). */
const SESSION_IDLE_MS = 20_000;
/** After a session failed (not refused), no new one for this long. */
const SESSION_RETRY_MS = 1_000;
/** After the server refused to create a consumer (an API error, e.g. a consumer limit), no new one for this long. */
const SESSION_REFUSED_MS = 30_000;
/** How long a stream whose replicas left requests unanswered is read from its leader only. */
const LOSSY_MS = 10_000;

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
   * paused, a stream marked lossy, or {@link MAX_SESSIONS} sessions all in use.
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
    if (this.sessions.length >= MAX_SESSIONS) {
      // Full: the least recently used idle session makes room; when every one is in use, this read
      // uses direct gets rather than opening one consumer more than the bound.
      const oldest = this.sessions.findIndex((s) => !s.busy);
      if (oldest === -1) return undefined;
      this.sessions.splice(oldest, 1)[0]!.close();
    }
    const session = new ReadSession(context, shard, after);
    session.busy = true;
    this.sessions.push(session);
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
