import type { Msg, NatsConnection } from "@nats-io/nats-core";
import type { AdapterError } from "@netmesh/core/adapter";
import { classifyClientError } from "./classify.js";
import type { Entry } from "./record.js";
import { IdleTimer, ReplyGroup, type ReplyMux } from "./reply-mux.js";

/**
 * How one reply of a window reads: the entry, `null` for "no message at or after", or a throw. A
 * thrown error fails the window, unless `isNoReply` says it only means "not now" (counted as no reply).
 */
export interface WindowReplies {
  parse(msg: Msg): Entry | null;
  isNoReply(error: unknown): boolean;
}

/**
 * Collects the replies of a window of gets, in request order: an entry, `null` for "no message", and
 * `undefined` while a reply is missing. Completes when every reply came, or once no reply came for
 * `patienceMs` (requests can go unanswered: a replica right after a stream was created, a stream
 * electing its leader), so the reader keeps the replies up to the first missing one and asks again.
 */
class WindowGroup extends ReplyGroup {
  readonly replies: (Entry | null | undefined)[];
  private remaining: number;
  private readonly idle: IdleTimer;

  constructor(
    readonly subject: string,
    count: number,
    patienceMs: number,
    private readonly readReply: WindowReplies,
  ) {
    super();
    this.replies = new Array<Entry | null | undefined>(count);
    this.remaining = count;
    this.idle = new IdleTimer(patienceMs, () => this.complete());
  }

  protected override onSettled(): void {
    this.idle.stop();
  }

  onReply(index: number, msg: Msg): void {
    if (this.isSettled || index < 0 || index >= this.replies.length || this.replies[index] !== undefined)
      return;
    this.idle.progress++;
    let entry: Entry | null;
    try {
      entry = this.readReply.parse(msg);
    } catch (error) {
      if (!this.readReply.isNoReply(error)) this.fail(error as AdapterError);
      return;
    }
    this.replies[index] = entry;
    if (--this.remaining === 0) this.complete();
  }
}

/** Where a window's requests go. */
export interface WindowTarget {
  readonly connection: NatsConnection;
  readonly mux: ReplyMux;
  /** The API subject the gets are sent to (a direct get or the leader's message get). */
  readonly api: string;
  /** The shard subject: each request asks for its next message at or after a sequence. */
  readonly subject: string;
  /** What the window does, for errors. */
  readonly what: string;
}

const encoder = new TextEncoder();

/**
 * Sends one get "next message of the subject at or after s" for each sequence of `from`, all at once,
 * and resolves their replies in request order (`undefined`: no reply within `patienceMs` of silence).
 * Fails at the first reply `replies` reads as an error, or after `timeoutMs` in all.
 */
export async function requestWindow(
  target: WindowTarget,
  from: readonly bigint[],
  patienceMs: number,
  timeoutMs: number,
  replies: WindowReplies,
): Promise<(Entry | null | undefined)[]> {
  const group = new WindowGroup(target.api, from.length, patienceMs, replies);
  target.mux.open(group, timeoutMs, `${target.what} (${from.length} requests)`);
  const suffix = `,"next_by_subj":${JSON.stringify(target.subject)}}`;
  try {
    for (let i = 0; i < from.length && !group.isSettled; i++) {
      // The sequence is written from the bigint's digits: a JSON number above 2^53 would be rounded.
      const body = encoder.encode(`{"seq":${from[i]!.toString()}${suffix}`);
      target.connection.publish(target.api, body, { reply: group.replyPrefix + i });
    }
  } catch (error) {
    group.fail(classifyClientError(error, target.what));
  }
  await group.done;
  return group.replies;
}

/** The sequences `start` … `start + count - 1`. */
export function sequencesFrom(start: bigint, count: number): bigint[] {
  const sequences = new Array<bigint>(count);
  for (let i = 0; i < count; i++) sequences[i] = start + BigInt(i);
  return sequences;
}
