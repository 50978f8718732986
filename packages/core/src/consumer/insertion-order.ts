import type { ShardPage, StoredEvent } from "../contract/adapter.js";
import { compareIds } from "../contract/ids.js";

/** What the merge needs of one shard's read: its page, and the page's events that pass the filter. */
export interface MergedRead {
  readonly page: ShardPage;
  readonly matches: readonly StoredEvent[];
}

/** Orders events by insertion timestamp, then shard, then entry id: a total, deterministic order. */
export function byInsertion(a: StoredEvent, b: StoredEvent): number {
  return a.timestamp - b.timestamp || a.shard - b.shard || compareIds(a.id, b.id);
}

/**
 * How many matches each shard returns when `limit` goes to the earliest events overall
 * (`order: "insertion"`). Nothing is returned that an event not read yet could still precede:
 *
 * - A shard with unread entries bounds the page: its next entries are later than the last one
 *   fetched, but may be earlier than other shards' fetched events, so nothing later than that horizon
 *   is returned yet. With per-shard increasing timestamps (one bus per shard) this makes paged reads
 *   globally time-ordered.
 * - A shard whose read failed may hold unread entries older than anything fetched, and so may a shard
 *   whose page brought no event but moved its position and says more follows (it examined entries it
 *   could not deliver): nothing is returned until it reads on (`holdAll`). A shard whose page brings
 *   nothing and does not move is stalled (an adapter fault, reported as such): waiting for it could
 *   stall the merge for ever, so it bounds nothing.
 * - `watermark` is the earliest timestamp an event this bus has not stored yet can carry (queued, in
 *   flight, or accepted after the poll began): such an event is stored later, so nothing from that
 *   timestamp on is returned before it.
 */
export function earliestFirst(
  reads: readonly MergedRead[],
  limit: number,
  watermark: number,
  holdAll: boolean,
): Map<number, number> {
  const taken = new Map<number, number>();
  if (holdAll) return taken;
  let horizon = Number.POSITIVE_INFINITY;
  for (const read of reads) {
    const last = read.page.events.at(-1);
    if (read.page.hasMore && last !== undefined) horizon = Math.min(horizon, last.timestamp);
  }
  const earliest = reads
    .flatMap((read) => read.matches)
    .filter((event) => event.timestamp <= horizon && event.timestamp < watermark)
    .sort(byInsertion)
    .slice(0, limit);
  for (const event of earliest) taken.set(event.shard, (taken.get(event.shard) ?? 0) + 1);
  return taken;
}
