import type { Msg, NatsConnection } from "@nats-io/nats-core";
import {
  FatalError,
  type Logger,
  type ShardPage,
  type StoredEvent,
  TransientError,
} from "@netmesh/core/adapter";
import { StreamGoneError } from "./classify.js";
import { MAX_SEQUENCE, parseSequence } from "./cursor.js";
import { leaderNext, leaderWindow } from "./leader-get.js";
import { SEQUENCE_HEADER } from "./naming.js";
import { NoRespondersReply } from "./publish.js";
import { SessionGone, SessionUnanswered, isSessionFallback, nextPullSerial } from "./pull-group.js";
import type { ReadSession, SessionContext } from "./read-session.js";
import type { ReadSessions } from "./read-sessions.js";
import { headersOf } from "./raw-headers.js";
import { type Entry, RecordFault, decodeRecord } from "./record.js";
import type { ReplyMux } from "./reply-mux.js";
import { type WindowReplies, requestWindow, sequencesFrom } from "./window-gets.js";

/** The first window of direct gets a read sends; each full window makes the next 8 times larger. */
const FIRST_WINDOW = 64;
/**
 * How long a window of direct gets waits for a missing reply after the last one that came: then it
 * keeps what it has and asks again for the rest (doubling the wait each time nothing came).
 */
const PATIENCE_MS = 200;

/** A direct get's reply: the message, `null` for 404 ("no message at or after"), or the failure it tells. */
const DIRECT_REPLIES = (subject: string): WindowReplies => ({
  parse(msg: Msg): Entry | null {
    const headers = headersOf(msg);
    const code = headers?.code ?? 0;
    if (code === 404) return null;
    if (code === 503) throw new NoRespondersReply(`no responders for direct gets on ${subject}`);
    if (code !== 0) {
      const description = msg.headers?.description ?? "";
      // 408 is the server refusing the request itself ("bad request"): the same request fails again.
      const error = `direct get on ${subject}: status ${code} ${description}`;
      throw code === 408 ? new FatalError(error) : new TransientError(error);
    }
    const id = headers?.get(SEQUENCE_HEADER);
    const sequence = parseSequence(id);
    if (id === undefined || sequence === undefined) {
      throw new TransientError(`direct get on ${subject}: a reply without a valid ${SEQUENCE_HEADER}`);
    }
    return { sequence, id, msg, headers };
  },
  isNoReply: () => false,
});

/** What {@link readPage} needs. */
export interface ReadContext {
  readonly connection: NatsConnection;
  readonly mux: ReplyMux;
  readonly timeoutMs: number;
  readonly maxReadAhead: number;
  readonly logger: Logger;
  /** The stream's name and its shard subject. */
  readonly stream: string;
  readonly subject: string;
  /**
   * The stream's replica count. With more than one, any current replica answers a direct get and may
   * lag the leader or not answer, so a "no message" that would end a read is checked with the leader,
   * and what replicas leave unanswered is asked of the leader.
   */
  readonly replicas: number;
  /** The adapter's read sessions and stream health (see `read-session.ts`). */
  readonly sessions: ReadSessions;
  /**
   * Looks the stream up within `timeoutMs`: false when it does not exist. Asked when direct gets go
   * unanswered, because the server leaves a direct get on a missing stream unanswered rather than
   * saying so.
   */
  readonly streamExists: (timeoutMs: number) => Promise<boolean>;
  /**
   * Forgets what is known of the stream, so the read's end checks it again: a session's consumer
   * vanished, which a deleted stream (perhaps created again since) does to it.
   */
  readonly forgetStream: () => void;
}

/**
 * Rejects with a {@link StreamGoneError} when the stream no longer exists (see
 * `ReadContext.streamExists`), asking within what is left of the read's `timeoutMs`.
 */
async function checkStreamExists(context: ReadContext, stalledSince: number): Promise<void> {
  const left = Math.max(1, context.timeoutMs - (Date.now() - stalledSince));
  if (!(await context.streamExists(left))) throw new StreamGoneError(`stream ${context.stream} is gone`);
}

/**
 * Sends direct gets "next message of `subject` at or after sequence s" for s = `start` … `start +
 * count - 1` at once, and resolves their replies in request order (`undefined`: no reply in time).
 */
function directWindow(
  context: ReadContext,
  start: bigint,
  count: number,
  patienceMs: number,
  timeoutMs: number,
): Promise<(Entry | null | undefined)[]> {
  const api = `$JS.API.DIRECT.GET.${context.stream}`;
  const target = { ...context, api, what: `direct gets on ${context.stream}` };
  return requestWindow(target, sequencesFrom(start, count), patienceMs, timeoutMs, DIRECT_REPLIES(api));
}

/**
 * A window of "next message at or after s" for s = `start` … `start + count - 1`, in request order:
 * an entry, `null` for "no message", `undefined` for no reply. On a replicated stream, what replicas
 * left unanswered is asked of the leader (`leaderWindow`), and while the stream is marked lossy
 * (replicas recently left requests unanswered) the whole window is asked of the leader: no reply is
 * then missing, and a `null` is the leader's (`authoritative`).
 */
async function getWindow(
  context: ReadContext,
  start: bigint,
  count: number,
  patienceMs: number,
  timeoutMs: number,
): Promise<{ replies: (Entry | null | undefined)[]; authoritative: boolean }> {
  const replicated = context.replicas > 1;
  const sequences = (indices: readonly number[]) => indices.map((i) => start + BigInt(i));
  if (replicated && context.sessions.isLossy(context.stream)) {
    const replies = await leaderWindow({ ...context, timeoutMs }, sequencesFrom(start, count), patienceMs);
    return { replies, authoritative: true };
  }
  const replies = await directWindow(context, start, count, patienceMs, timeoutMs);
  const missing: number[] = [];
  for (let i = 0; i < replies.length; i++) if (replies[i] === undefined) missing.push(i);
  if (!replicated || missing.length === 0) return { replies, authoritative: !replicated };
  // Some replies came and some did not: a replica is stopped or cut off (a window nobody answered is a
  // stream being created or electing its leader, which passes).
  if (missing.length < count) context.sessions.markLossy(context.stream);
  context.logger.debug(
    { adapter: "jetstream", stream: context.stream, unanswered: missing.length, of: count },
    "direct gets left unanswered by a replica; asking the stream leader",
  );
  const filled = await leaderWindow({ ...context, timeoutMs }, sequences(missing), patienceMs);
  for (const [k, i] of missing.entries()) replies[i] = filled[k];
  return { replies, authoritative: false };
}

/** How a step of a scan ended. */
type StepEnd = "more" | "end" | "missing";

/**
 * Finds up to `wanted` messages after sequence `after`, in order, with no message skipped, from a
 * consumer session when there is one, else from windows of "next message at or after s" requests.
 *
 * **Windows.** A window asks for the next message at or after each of the sequences `last + 1`,
 * `last + 2`, …; with no gaps in the stream each reply is the next message. A gap makes several requests
 * return the same message: only sequences beyond the last one taken are kept. The replies are taken in
 * request order up to the first one that is missing or says "no message". A reply is a message that
 * exists, and nothing between the request's sequence and it can ever be read (a replica applies the
 * stream's writes in order, so a replica that has the message has everything before it), so taking
 * replies from different replicas, and from the leader, in request order never skips one. Replies after
 * a "no message" are dropped even when they found one: that request may have run before a message was
 * appended that a later request saw, and stopping there is what keeps a read from moving past a message
 * written meanwhile. A missing reply ends the window after `PATIENCE_MS` of silence (on a replicated
 * stream the leader is asked for what replicas left unanswered, see `getWindow`); what is still missing
 * is asked again, with growing patience, until `timeoutMs` passes without progress (then the read
 * fails, retryably). Right after a stream is created, and while it elects a leader, nobody answers for
 * a moment, and an unanswered request is lost rather than kept.
 *
 * **The end.** A "no message" (a direct get's 404, or a consumer's pull finding nothing) is the end of
 * the stream on a single-replica stream. On a replicated one it may come from a replica that lags the
 * leader, so the leader is asked for the next message (`leaderNext`): the read goes on from that message
 * when there is one, and ends otherwise. So a read never stops short of a message whose write was
 * acknowledged before the read began, and never skips one.
 */
async function scan(
  context: ReadContext,
  after: bigint,
  wanted: number,
  session: ReadSession | undefined,
): Promise<{ entries: Entry[]; session: ReadSession | undefined }> {
  const entries: Entry[] = [];
  let last = after;
  /** The session this page reads from: set aside (not closed) for the rest of a page once it lags. */
  let current = session;
  let window = FIRST_WINDOW;
  let patience = Math.min(PATIENCE_MS, Math.max(1, Math.floor(context.timeoutMs / 4)));
  let stalledSince: number | undefined;
  /** The stream was looked up since the read last made progress. */
  let looked = false;
  const firstSerial = nextPullSerial();
  while (entries.length < wanted && last < MAX_SEQUENCE) {
    let end: StepEnd = "more";
    let authoritative = context.replicas <= 1;
    if (current !== undefined) {
      const tried = Date.now();
      try {
        const step = await current.read(last, wanted - entries.length, firstSerial);
        for (const entry of step.entries) entries.push(entry);
        if (step.entries.length > 0) last = step.entries[step.entries.length - 1]!.sequence;
        if (step.end) end = "end";
        // A consumer's "nothing more" is never the end by itself (see `ReadSession.read`).
        authoritative = false;
      } catch (error) {
        if (!isSessionFallback(error)) throw error;
        // Its consumer gone, or silent (the server ignores pulls for a consumer deleted with its stream):
        // the read's end looks the stream up again, to tell a stream created again since.
        if (error instanceof SessionGone || error instanceof SessionUnanswered) context.forgetStream();
        if (error instanceof SessionUnanswered) {
          // The time the session waited counts toward the read's bound on making no progress.
          stalledSince ??= tried;
          if (context.replicas > 1) context.sessions.markLossy(context.stream);
        }
        context.sessions.discard(current, error);
        current = undefined;
        session = undefined;
        continue; // on with windows, from `last`
      }
    } else {
      const room = MAX_SEQUENCE - last;
      const want = Math.min(wanted - entries.length, window, context.maxReadAhead);
      const count = room < BigInt(want) ? Number(room) : want;
      const sentAt = Date.now();
      const budget = context.timeoutMs - (stalledSince === undefined ? 0 : sentAt - stalledSince);
      const got = await getWindow(context, last + 1n, count, patience, Math.max(1, budget));
      authoritative = got.authoritative;
      const before = entries.length;
      for (const reply of got.replies) {
        if (reply === undefined) {
          end = "missing";
          break;
        }
        if (reply === null) {
          end = "end";
          break;
        }
        if (reply.sequence <= last) continue;
        entries.push(reply);
        last = reply.sequence;
        if (entries.length === wanted) break;
      }
      if (end === "more" && count === want) window = Math.min(window * 8, context.maxReadAhead);
      if (end === "missing") {
        if (entries.length > before) {
          stalledSince = undefined;
          looked = false;
          continue;
        }
        stalledSince ??= sentAt;
        if (!looked && context.replicas <= 1) {
          // Unanswered on one replica: a stream just created, or one deleted since it was looked up.
          looked = true;
          await checkStreamExists(context, stalledSince);
        }
        if (Date.now() - stalledSince >= context.timeoutMs) {
          throw new TransientError(
            `direct gets on ${context.stream} after sequence ${last} unanswered for ${context.timeoutMs} ms`,
          );
        }
        patience *= 2;
        continue;
      }
      stalledSince = undefined;
    }
    if (end !== "end" || entries.length >= wanted) continue;
    if (authoritative) break;
    // "Nothing more" from a replica, or from a consumer: the stream itself tells whether it ends here
    // (on one replica a direct get, which reads the stream's store; on several, the leader).
    const next =
      context.replicas > 1
        ? await leaderNext(context, last + 1n, patience)
        : await storeNext(context, last + 1n);
    if (next === undefined) break;
    context.logger.debug(
      { adapter: "jetstream", stream: context.stream, after: last.toString(), next: next.id },
      current === undefined
        ? "a replica answered no message before the stream's end (it lags the leader); reading on"
        : "the read consumer had not seen the stream's latest messages yet; reading on",
    );
    entries.push(next);
    last = next.sequence;
    // The rest of the page comes from windows; the session stays for the next page (by then it has
    // caught up, and it skips what the page took meanwhile).
    current = undefined;
  }
  return { entries, session };
}

/**
 * The first message at or after `from` as a single-replica stream's store has it (one direct get, asked
 * again while unanswered, within `timeoutMs`); `undefined` when there is none.
 */
async function storeNext(context: ReadContext, from: bigint): Promise<Entry | undefined> {
  const started = Date.now();
  const first = Math.min(PATIENCE_MS, context.timeoutMs);
  for (let patience = first; ; patience *= 2) {
    const left = context.timeoutMs - (Date.now() - started);
    if (left <= 0) {
      throw new TransientError(
        `a direct get on ${context.stream} went unanswered for ${context.timeoutMs} ms`,
      );
    }
    const [reply] = await directWindow(context, from, 1, Math.min(patience, left), left);
    if (reply !== undefined) return reply ?? undefined;
    if (patience === first) await checkStreamExists(context, started);
  }
}

/** The session's settings for a read in `context`. */
export function sessionContext(context: ReadContext): SessionContext {
  return {
    connection: context.connection,
    mux: context.mux,
    timeoutMs: context.timeoutMs,
    logger: context.logger,
    maxPull: context.maxReadAhead,
    stream: context.stream,
    subject: context.subject,
  };
}

/**
 * Reads up to `limit` events of `shard` strictly after sequence `after` (see the adapter's
 * `pollShard` for the page's rules). Examines at most `limit + 1` stored messages: the first `limit`
 * make the page, the one after only tells `hasMore`.
 */
export async function readPage(
  context: ReadContext,
  shard: number,
  after: bigint,
  limit: number,
): Promise<ShardPage> {
  const wanted = limit + 1; // limit ≤ 2^53 - 1 (checked by the caller), so this is exact
  const { sessions } = context;
  let session = sessions.acquire(sessionContext(context), shard, after, limit);
  try {
    const scanned = await scan(context, after, wanted, session);
    session = scanned.session;
    const { entries } = scanned;
    // A reader that is behind comes back for the next page: ask for it before decoding this one.
    if (session !== undefined && entries.length > limit)
      session.readAhead(entries[limit - 1]!.sequence, wanted);
    const page = toPage(context, shard, entries, limit);
    session?.settle(after);
    return page;
  } finally {
    if (session !== undefined) sessions.release(session);
  }
}

/** The page made of the examined `entries` (see {@link readPage}). */
function toPage(context: ReadContext, shard: number, entries: readonly Entry[], limit: number): ShardPage {
  const inPage = Math.min(entries.length, limit);
  const events: StoredEvent[] = [];
  let nextId: string | undefined;
  for (let i = 0; i < inPage; i++) {
    const entry = entries[i]!;
    const record =
      entry.record ?? decodeRecord(entry.msg, shard, entry.id, entry.headers ?? headersOf(entry.msg));
    if (!(record instanceof RecordFault)) {
      events.push(record);
    } else if (record.kind === "corrupt") {
      context.logger.warn(
        { adapter: "jetstream", stream: context.stream, sequence: entry.id, reason: record.reason },
        "skipping a corrupt record",
      );
    } else {
      context.logger.error(
        { adapter: "jetstream", stream: context.stream, sequence: entry.id, reason: record.reason },
        "stopping the read at a record that cannot be delivered",
      );
      // Hand over what precedes it, cursor just before it: the next read starts exactly there and
      // surfaces the error, without repeating the good events.
      if (i === 0) {
        throw new FatalError(`stream ${context.stream} sequence ${entry.id}: ${record.reason}`);
      }
      return { events, nextId, hasMore: true };
    }
    nextId = entry.id;
  }
  return { events, nextId, hasMore: entries.length > limit };
}
