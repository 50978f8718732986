import {
  AdapterShutdownError,
  ConnectionError,
  type Logger,
  type ReadShardOptions,
  type ShardPage,
} from "@netmesh/core/adapter";
import { StreamGoneError, classifyClientError } from "./classify.js";
import { MAX_SEQUENCE, parseCursor } from "./cursor.js";
import { followShard } from "./follow.js";
import { allShardsFilter, shardOfStream, shardSubject, streamName } from "./naming.js";
import type { ResolvedOptions } from "./options.js";
import { type ReadContext, readPage } from "./read.js";
import { streamReset } from "./stream-reset.js";
import type { Session } from "./write.js";

const EMPTY_PAGE: ShardPage = Object.freeze({ events: Object.freeze([]), nextId: undefined, hasMore: false });

/** What the adapter's reads need: its live session, options and logger, and its shutdown signal. */
export interface ShardReadContext {
  readonly session: Session;
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly shutdownSignal: AbortSignal;
}

/**
 * One page of `shard` after `afterId` (the adapter's `pollShard`; see `readPage`): an empty page for a
 * shard never written, or for a cursor at the last possible sequence; a stream deleted meanwhile reads
 * empty too. A failed read forgets the stream's cached state, so the next read looks it up again.
 */
export async function readShardPage(
  context: ShardReadContext,
  shard: number,
  afterId: string | undefined,
  limit: number,
): Promise<ShardPage> {
  const { session, options } = context;
  const after = parseCursor(afterId);
  if (after === MAX_SEQUENCE) return EMPTY_PAGE; // nothing can come after the last possible sequence
  if (!session.link.connected) throw new ConnectionError("not connected to NATS (reconnecting)");
  const { streams } = session;
  const began = streams.lookupSerial();
  const replicas = await streams.readable(shard);
  if (replicas === undefined) return EMPTY_PAGE; // a shard never written
  const stream = streamName(options.prefix, shard);
  // The lookup of a shard's first read (or of one after a failure) tells the stream's end for free.
  failIfReset(context, stream, shard, after, streams.lastSequenceSince(shard, began));
  const read: ReadContext = {
    connection: session.connection,
    mux: session.mux,
    timeoutMs: options.requestTimeoutMs,
    maxReadAhead: options.maxReadAhead,
    logger: context.logger,
    stream,
    subject: shardSubject(options.prefix, shard),
    replicas,
    sessions: session.reads,
    streamExists: async (timeoutMs) => (await streams.lookup(shard, timeoutMs)) !== undefined,
    forgetStream: () => streams.forget(shard),
  };
  let page: ShardPage;
  try {
    page = await readPage(read, shard, after, limit);
  } catch (error) {
    if (context.shutdownSignal.aborted)
      throw new AdapterShutdownError("the adapter was shut down during the read");
    // Unanswered or refused gets may mean the stream was deleted: look it up again next time.
    session.streams.forget(shard);
    if (error instanceof StreamGoneError && (await session.streams.readable(shard)) === undefined) {
      return EMPTY_PAGE; // deleted since it was looked up: a shard without a stream reads empty
    }
    throw classifyClientError(error, "read");
  }
  if (page.nextId !== undefined) {
    streams.saw(shard, BigInt(page.nextId));
  } else if (after > 0n && !(after <= (streams.highestKnown(shard) ?? -1n))) {
    // Nothing after a cursor beyond every sequence known in the stream: the stream was created again
    // since, or the cursor comes from a reader ahead of this adapter. One lookup tells which; after it
    // the stream's end is known, so a reader waiting at the end costs no further request.
    const asked = streams.lookupSerial();
    await streams.lookup(shard);
    failIfReset(context, stream, shard, after, streams.lastSequenceSince(shard, asked));
  }
  return page;
}

/** Throws a `StreamResetError` when `after` is beyond `last`, the stream's last sequence (when known). */
function failIfReset(
  context: ShardReadContext,
  stream: string,
  shard: number,
  after: bigint,
  last: bigint | undefined,
): void {
  if (last !== undefined && after > last) throw streamReset(context.logger, { stream, shard }, after, last);
}

/** Follows `shard` after `afterId` through an ephemeral pull consumer (the adapter's `readShard`; see `followShard`). */
export function followShardPages(
  context: ShardReadContext,
  shard: number,
  afterId: string | undefined,
  options: ReadShardOptions,
): AsyncIterable<ShardPage> {
  const { session } = context;
  const after = parseCursor(afterId);
  const follow = {
    connection: session.connection,
    link: session.link,
    logger: context.logger,
    inboxPrefix: context.options.inboxPrefix,
    stream: streamName(context.options.prefix, shard),
    subject: shardSubject(context.options.prefix, shard),
    timeoutMs: context.options.requestTimeoutMs,
    refusals: session.mux,
    lastSequence: () => session.streams.lastSequence(shard),
  };
  return followShard(follow, shard, after, options.signal, options.limit);
}

/** The shards whose streams exist under the prefix (written by any process), from the server's list. */
export async function listShardStreams(session: Session, prefix: string): Promise<readonly number[]> {
  const shards: number[] = [];
  try {
    for await (const name of session.manager.streams.names(allShardsFilter(prefix))) {
      const shard = shardOfStream(prefix, name);
      if (shard !== undefined) shards.push(shard);
    }
  } catch (error) {
    throw classifyClientError(error, `list the streams of prefix ${prefix}`);
  }
  return shards;
}
