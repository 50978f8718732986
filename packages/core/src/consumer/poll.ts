import type { Adapter, ShardPage, StoredEvent } from "../contract/adapter.js";
import type { Logger } from "../contract/logger.js";
import { InvalidPollRequestError, describeValue } from "../errors.js";
import { CompositeCursor } from "./cursor.js";
import { type CompiledFilter, type Filter, compileFilter } from "./filter.js";
import { byInsertion, earliestFirst } from "./insertion-order.js";
import { readAheadOf } from "./read-ahead.js";
import { type PollOrder, checkOrder, checkPageSize, checkShardIds } from "./read-request.js";

export { MAX_POLL_LIMIT, type PollOrder } from "./read-request.js";

/** A request to {@link EventBus.poll} (and `Reader.poll`). */
export interface PollRequest {
  /** Most events to return, 1 to 100,000. */
  readonly limit: number;
  /** Where to resume: the `cursor` of a previous result. Default: from the beginning. */
  readonly cursor?: string;
  /** Only events matching this filter are returned; the others are skipped (never re-read). */
  readonly filter?: Filter | string;
  /** Default `"none"`. */
  readonly order?: PollOrder;
  /** Shards to read. Default: every live shard of the bus. */
  readonly shards?: readonly number[];
}

/** What a poll returns. */
export interface PollResult {
  /** The events, at most `limit`. */
  readonly events: readonly StoredEvent[];
  /** Pass this as `cursor` to continue after these events. Never empty; the input cursor when nothing moved. */
  readonly cursor: string;
  /** True when more events may be read right away. */
  readonly hasMore: boolean;
  /** Shards whose read failed this time (their positions did not move). */
  readonly failedShards: readonly number[];
  /** Shards that claimed more events but made no progress (an adapter bug; reported, not retried here). */
  readonly stalledShards: readonly number[];
  /** Events whose JSON could not be parsed while filtering; skipped and logged. */
  readonly unparseable: number;
  /** True when the per-shard fetch was capped at {@link MAX_PER_SHARD_FETCH}. */
  readonly truncatedAtShardCap: boolean;
}

/** Largest page read from one shard in one poll. */
export const MAX_PER_SHARD_FETCH = 10_000;
/** Smallest page read from one shard when a filter is applied. */
const MIN_FILTERED_FETCH = 256;

interface ShardRead {
  readonly shard: number;
  readonly page: ShardPage;
  /** The page's events that pass the filter, in shard order. */
  readonly matches: StoredEvent[];
}

function checkRequest(request: PollRequest): { shards: number[] | undefined; order: PollOrder } {
  // Callers in plain JavaScript can pass anything: a typed error, not a TypeError from reading a field.
  if (typeof request !== "object" || request === null) {
    throw new InvalidPollRequestError("request", `must be an object, got ${describeValue(request)}`);
  }
  checkPageSize("limit", request.limit);
  return { shards: checkShardIds(request.shards), order: checkOrder(request.order) };
}

/**
 * How many matches each shard returns when `limit` is shared fairly (water-filling): every shard gets an
 * equal share, and what a short shard leaves over goes to the others. Without this, busy low-numbered
 * shards would fill every page and starve the rest.
 */
function fairShares(reads: readonly ShardRead[], limit: number, rotation: number): Map<number, number> {
  const taken = new Map<number, number>(reads.map((read) => [read.shard, 0]));
  // Start the round at a different shard each poll, so a limit below the shard count starves nobody.
  const start = reads.length === 0 ? 0 : rotation % reads.length;
  const rotated = [...reads.slice(start), ...reads.slice(0, start)];
  let remaining = limit;
  for (;;) {
    const open = rotated.filter((read) => taken.get(read.shard)! < read.matches.length);
    if (remaining === 0 || open.length === 0) return taken;
    const share = Math.max(1, Math.floor(remaining / open.length));
    for (const read of open) {
      const give = Math.min(share, read.matches.length - taken.get(read.shard)!, remaining);
      taken.set(read.shard, taken.get(read.shard)! + give);
      remaining -= give;
      if (remaining === 0) return taken;
    }
  }
}

/**
 * A second, last round for unfiltered shard-order reads: when the first round came back short of
 * `limit` and some shards had more, reads the missing events from those shards, split evenly, and
 * appends them to their first pages (a failure leaves that shard's first page as it is).
 */
async function topUpShort(
  reads: ShardRead[],
  limit: number,
  absorb: (
    shards: readonly number[],
    positions: (shard: number) => string | undefined,
    limit: number,
  ) => Promise<Map<number, ShardPage>>,
): Promise<void> {
  const total = reads.reduce((sum, read) => sum + read.matches.length, 0);
  const open = reads.filter((read) => read.page.hasMore && read.page.nextId !== undefined);
  if (total >= limit || open.length === 0) return;
  // Rounded down, so the top-ups do not overshoot `limit`: a shard cut short of its whole page would
  // move off its read-ahead window, which the next poll would then read again.
  const share = Math.min(MAX_PER_SHARD_FETCH, Math.max(1, Math.floor((limit - total) / open.length)));
  const positions = new Map(open.map((read) => [read.shard, read.page.nextId]));
  const more = await absorb([...positions.keys()], (shard) => positions.get(shard), share);
  for (const [i, read] of reads.entries()) {
    const page = more.get(read.shard);
    if (page === undefined) continue;
    const events = [...read.page.events, ...page.events];
    reads[i] = {
      shard: read.shard,
      page: { events, nextId: page.nextId ?? read.page.nextId, hasMore: page.hasMore },
      matches: events,
    };
  }
}

/**
 * Reads up to `limit` events across shards, concurrently, and merges them. Each shard contributes a
 * prefix of its own (filtered) events, so its position can move to the last event returned without
 * skipping anything; `rotation` (any counter) rotates which shard is served first when the limit is
 * shared; a shard whose matches were all returned moves to the adapter's `nextId`, past
 * entries it examined and filtered out or skipped. Positions never move backwards. `watermark` is, for
 * insertion order, the earliest timestamp an event the caller has not stored yet can carry (see
 * `earliestFirst`); a reader without producers has none.
 */
export async function pollShards(
  adapter: Adapter,
  liveShards: readonly number[],
  request: PollRequest,
  logger: Logger,
  rotation = 0,
  watermark = Number.POSITIVE_INFINITY,
): Promise<PollResult> {
  const { shards: requested, order } = checkRequest(request);
  const input = CompositeCursor.decode(request.cursor, adapter);
  const filter: CompiledFilter | undefined =
    request.filter === undefined ? undefined : compileFilter(request.filter);
  // By default: the live shards, plus any shard the cursor names (a removed shard may still hold unread events).
  const shards = requested ?? [...new Set([...liveShards, ...input.shardIds()])].sort((a, b) => a - b);
  const inputText = request.cursor ?? input.encode();
  const empty = (failedShards: number[] = []): PollResult => ({
    events: [],
    cursor: inputText,
    hasMore: false,
    failedShards,
    stalledShards: [],
    unparseable: 0,
    truncatedAtShardCap: false,
  });
  if (shards.length === 0) return empty();

  const fair = Math.max(1, Math.ceil(request.limit / shards.length));
  // Unfiltered reads in shard order fetch a fair share per shard, then top up from the shards that had
  // more: nothing fetched is thrown away to be read again, so a reader moves at the backend's speed.
  // Insertion order must see past every shard's share to pick the earliest events, and a filter reads
  // at least a few hundred entries per shard so a rare match does not take thousands of polls.
  const topUp = order === "none" && filter === undefined;
  const ahead = readAheadOf(adapter);
  const wanted = topUp ? fair : filter ? Math.max(fair * 3, MIN_FILTERED_FETCH) : fair * 2;
  const perShard = Math.min(wanted, MAX_PER_SHARD_FETCH);
  const failedShards: number[] = [];
  let unparseable = 0;
  const reads: ShardRead[] = [];
  let toppingUp = false;
  const absorb = async (
    targets: readonly number[],
    positions: (shard: number) => string | undefined,
    limit: number,
  ) => {
    const settled = await Promise.allSettled(
      // Top-ups too: a shard's window is read on from exactly where its first page ended, so taking
      // the top-up from it keeps the window (a read past it would move the shard off its window).
      targets.map((shard) => ahead.read(adapter, shard, positions(shard), limit)),
    );
    const pages = new Map<number, ShardPage>();
    settled.forEach((outcome, i) => {
      const shard = targets[i]!;
      if (outcome.status === "rejected") {
        // A failed top-up leaves the shard's first page standing: its position still moves.
        if (!toppingUp) failedShards.push(shard);
        logger.warn({ shard, err: outcome.reason }, "poll: shard read failed");
      } else pages.set(shard, outcome.value);
    });
    return pages;
  };
  for (const [shard, page] of await absorb(shards, (shard) => input.get(shard), perShard)) {
    let matches = page.events as StoredEvent[];
    if (filter) {
      matches = [];
      for (const event of page.events) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(event.json);
        } catch {
          unparseable++;
          logger.warn({ shard, id: event.id }, "poll: skipping an event whose JSON cannot be parsed");
          continue;
        }
        if (filter.matches(parsed)) matches.push(event);
      }
    }
    reads.push({ shard, page, matches });
  }
  if (topUp) {
    toppingUp = true;
    await topUpShort(reads, request.limit, absorb);
  }

  // Events held back only because this bus has not stored earlier ones yet cannot be read right away.
  let total = 0;
  for (const read of reads) {
    for (const event of read.matches) if (order === "none" || event.timestamp < watermark) total++;
  }
  // A shard that examined entries and delivered none of them, and has more: its next events are unknown.
  const skippedOnly = (read: ShardRead) =>
    read.page.hasMore &&
    read.page.events.length === 0 &&
    read.page.nextId !== undefined &&
    read.page.nextId !== input.get(read.shard);
  const taken =
    order === "insertion"
      ? earliestFirst(reads, request.limit, watermark, failedShards.length > 0 || reads.some(skippedOnly))
      : fairShares(reads, request.limit, rotation);
  const events = reads.flatMap((read) => read.matches.slice(0, taken.get(read.shard) ?? 0));
  if (order === "insertion") events.sort(byInsertion);

  const next = input.clone();
  for (const read of reads) {
    const count = taken.get(read.shard) ?? 0;
    const allReturned = count === read.matches.length;
    // All matches returned: skip past everything the adapter examined. Otherwise stop at the last one returned.
    const target = allReturned ? read.page.nextId : read.matches[count - 1]?.id;
    if (target !== undefined && next.advance(read.shard, target) === "format-change") {
      logger.error(
        { shard: read.shard, from: input.get(read.shard), to: target },
        "poll: entry id format changed; keeping the old position",
      );
    }
  }
  if (topUp && perShard < (adapter.capabilities.readsAheadFrom ?? Number.POSITIVE_INFINITY)) {
    // A shard whose whole page was returned and that has more: its next page is read now, while the
    // consumer works on this one (see ReadAhead), unless the adapter already reads pages this large ahead.
    for (const read of reads) {
      const all = (taken.get(read.shard) ?? 0) === read.matches.length;
      if (all && read.page.hasMore) ahead.start(adapter, read.shard, next.get(read.shard), perShard);
    }
  }
  const advanced = !next.equals(input);
  const progress = events.length > 0 || advanced;
  const anyHasMore = reads.some((read) => read.page.hasMore);
  // Stalled: a shard that claims more but brought no entry and no move of its position. A shard whose
  // events were only held back (insertion order) brought entries: it is not stalled.
  const stalledShards = reads
    .filter((read) => read.page.hasMore && read.page.events.length === 0)
    .filter((read) => next.get(read.shard) === input.get(read.shard))
    .map((read) => read.shard);
  if (stalledShards.length > 0)
    logger.warn({ shards: stalledShards }, "poll: shards report more events but made no progress");
  return {
    events,
    cursor: progress ? next.encode() : inputText,
    hasMore:
      progress && (anyHasMore || events.length < total || (filter !== undefined && events.length === 0)),
    failedShards,
    stalledShards,
    unparseable,
    truncatedAtShardCap: wanted > MAX_PER_SHARD_FETCH,
  };
}
