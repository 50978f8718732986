import { setImmediate as nextTurn } from "node:timers/promises";
import type { Adapter, StoredEvent } from "@netmesh/core";

/** Options of {@link readBack}. */
export interface ReadBackOptions {
  /** Events per `pollShard` call. */
  readonly pageSize?: number;
  /** Called after every page with the running total (drives the progress line). */
  readonly onPage?: (eventsSoFar: number) => void;
}

/** What a read-back did, besides handing the events over. */
export interface ReadBackResult {
  /** Events read, over all shards. */
  readonly events: number;
  /** `pollShard` calls made. */
  readonly pages: number;
  /** Problems with the paging itself (a cursor that did not advance, too many pages). */
  readonly problems: readonly string[];
}

const DEFAULT_PAGE_SIZE = 10_000;
/** Pages in a row that may return no cursor while claiming more entries, before the shard is given up. */
const MAX_STALLED_PAGES = 3;

/**
 * Reads every stored event of shards `0 … shardCount - 1` through the adapter contract's
 * `pollShard`, the way a consumer would: exclusive cursors, `nextId` as the next `afterId`, until
 * `hasMore` is false. Each event goes to `visit` with the shard it was polled from.
 *
 * Every loop is bounded: a shard is read in at most `expectedTotal / pageSize` pages plus a margin,
 * and a cursor that stops advancing is reported rather than polled forever.
 */
export async function readBack(
  adapter: Adapter,
  shardCount: number,
  expectedTotal: number,
  visit: (event: StoredEvent, shard: number) => void,
  options: ReadBackOptions = {},
): Promise<ReadBackResult> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  // Generous: a correct adapter needs ceil(total / pageSize) pages plus one per shard.
  const maxPages = Math.ceil(expectedTotal / pageSize) * 2 + shardCount * 2 + 10;
  const problems: string[] = [];
  let events = 0;
  let pages = 0;
  for (let shard = 0; shard < shardCount; shard++) {
    let cursor: string | undefined;
    let stalled = 0;
    for (;;) {
      if (pages >= maxPages) {
        problems.push(`gave up after ${pages} pages (expected about ${Math.ceil(expectedTotal / pageSize)})`);
        return { events, pages, problems };
      }
      const page = await adapter.pollShard(shard, cursor, pageSize);
      pages++;
      for (const event of page.events) visit(event, shard);
      events += page.events.length;
      options.onPage?.(events);
      if (!page.hasMore) break;
      if (page.nextId === undefined || page.nextId === cursor) {
        // "Keep your cursor" is legal once (nothing examined), but not forever while hasMore holds.
        if (++stalled >= MAX_STALLED_PAGES) {
          problems.push(`shard ${shard}: cursor stuck at ${String(cursor)} while hasMore is true`);
          break;
        }
      } else {
        stalled = 0;
        cursor = page.nextId;
      }
      // The memory adapter answers synchronously; yield so timers (the progress line) still run.
      await nextTurn();
    }
  }
  return { events, pages, problems };
}
