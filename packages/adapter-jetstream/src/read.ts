import type { Msg, NatsConnection } from "@nats-io/nats-core";
import {
  FatalError,
  type Logger,
  type ShardPage,
  type StoredEvent,
  TransientError,
} from "@netmesh/core/adapter";
import { classifyClientError } from "./classify.js";
import { MAX_SEQUENCE, parseSequence } from "./cursor.js";
import { SEQUENCE_HEADER } from "./naming.js";
import { NoRespondersReply } from "./publish.js";
import { decodeRecord } from "./record.js";
import { ReplyGroup, type ReplyMux } from "./reply-mux.js";

/** One stored message examined by a read, with its sequence. */
interface Entry {
  readonly sequence: bigint;
  readonly id: string;
  readonly msg: Msg;
}

/** Collects the replies of a window of direct gets: a message, or `null` for "no message at or after". */
class DirectGetGroup extends ReplyGroup {
  readonly replies: (Msg | null | undefined)[];
  private remaining: number;

  constructor(
    readonly subject: string,
    count: number,
  ) {
    super();
    this.replies = new Array<Msg | null | undefined>(count);
    this.remaining = count;
  }

  onReply(index: number, msg: Msg): void {
    if (this.isSettled || index < 0 || index >= this.replies.length || this.replies[index] !== undefined)
      return;
    const code = msg.headers?.code ?? 0;
    if (code === 404) {
      this.replies[index] = null;
    } else if (code === 503) {
      this.fail(new NoRespondersReply(`no responders for direct gets on ${this.subject}`));
      return;
    } else if (code !== 0) {
      const description = msg.headers?.description ?? "";
      // 408 is the server refusing the request itself ("bad request"): the same request fails again.
      const error = `direct get on ${this.subject}: status ${code} ${description}`;
      this.fail(code === 408 ? new FatalError(error) : new TransientError(error));
      return;
    } else {
      this.replies[index] = msg;
    }
    if (--this.remaining === 0) this.complete();
  }
}

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
}

const encoder = new TextEncoder();

/**
 * Sends direct gets "next message of `subject` at or after sequence s" for s = `start` … `start +
 * count - 1` at once, and resolves their replies in request order.
 */
async function getWindow(context: ReadContext, start: bigint, count: number): Promise<(Msg | null)[]> {
  const api = `$JS.API.DIRECT.GET.${context.stream}`;
  const group = new DirectGetGroup(api, count);
  context.mux.open(group, context.timeoutMs, `${count} direct gets on ${context.stream}`);
  const suffix = `,"next_by_subj":${JSON.stringify(context.subject)}}`;
  try {
    for (let i = 0; i < count && !group.isSettled; i++) {
      // The sequence is written from the bigint's digits: a JSON number above 2^53 would be rounded.
      const body = encoder.encode(`{"seq":${(start + BigInt(i)).toString()}${suffix}`);
      context.connection.publish(api, body, { reply: group.replyPrefix + i });
    }
  } catch (error) {
    group.fail(classifyClientError(error, `direct get on ${context.stream}`));
  }
  await group.done;
  return group.replies as (Msg | null)[];
}

/**
 * Finds up to `wanted` messages after sequence `after`, in order, with no gap skipped.
 *
 * A window of direct gets asks for the next message at or after each of the sequences `after + 1`,
 * `after + 2`, …; with no gaps in the stream each reply is the next message. A gap makes several
 * requests return the same message: only sequences beyond the last one taken are kept. The first "no
 * message" reply ends the read, and replies after it are dropped even when they found one: that
 * request ran before a message was appended that a later request may have seen past, so stopping
 * there is what keeps the read from skipping a message written meanwhile.
 */
async function scan(context: ReadContext, after: bigint, wanted: number): Promise<Entry[]> {
  const entries: Entry[] = [];
  let last = after;
  while (entries.length < wanted && last < MAX_SEQUENCE) {
    const room = MAX_SEQUENCE - last;
    const want = Math.min(wanted - entries.length, context.maxReadAhead);
    const count = room < BigInt(want) ? Number(room) : want;
    const replies = await getWindow(context, last + 1n, count);
    for (const msg of replies) {
      if (msg === null) return entries;
      const id = msg.headers?.get(SEQUENCE_HEADER);
      const sequence = parseSequence(id);
      if (id === undefined || sequence === undefined) {
        throw new TransientError(
          `direct get on ${context.stream}: a reply without a valid ${SEQUENCE_HEADER}`,
        );
      }
      if (sequence <= last) continue;
      entries.push({ sequence, id, msg });
      last = sequence;
      if (entries.length === wanted) return entries;
    }
  }
  return entries;
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
  const entries = await scan(context, after, wanted);
  const inPage = Math.min(entries.length, limit);
  const events: StoredEvent[] = [];
  let nextId: string | undefined;
  for (let i = 0; i < inPage; i++) {
    const entry = entries[i]!;
    const record = decodeRecord(entry.msg, shard, entry.id);
    if (record.kind === "event") {
      events.push(record.event);
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
