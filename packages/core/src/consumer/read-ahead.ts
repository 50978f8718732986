import type { Adapter, ShardPage, StoredEvent } from "../contract/adapter.js";

/** A window reads this many polls' worth of a shard in one adapter call. */
const WINDOW_PAGES = 4;
/** Largest window, events. */
const MAX_WINDOW = 10_000;

/**
 * What was read of a shard beyond what polls returned: `events[offset …]` follow position `start` with
 * nothing between, up to the window's `nextId`; `extending` is a read of the window after that.
 */
interface ShardWindow {
  events: StoredEvent[];
  offset: number;
  start: string | undefined;
  nextId: string | undefined;
  hasMore: boolean;
  extending: Promise<void> | undefined;
}

/**
 * Windows read ahead for the polls of an adapter, one per shard. A poll loop asks each shard for a
 * small page (its share of `limit`) and leaves the backend idle while the caller works on what came;
 * once a poll returned a shard's whole page and the shard has more, its next pages are read in one
 * larger call (four pages, on Redis one `XRANGE` where the loop would send four) while the caller
 * works, and the polls that follow take their pages from it.
 *
 * A page is served from a window only when the poll asks for exactly the window's position and the
 * window holds a **full** page there and at least one entry after it: the entries of a full page never
 * change (rule 11), and the entry after it makes its `hasMore` true now as for a fresh read. The
 * window's own `hasMore` is never passed on: it is as old as the window's last read, and entries may
 * have been stored since. Anything else — another position, a short remainder or a last page at the
 * end of the stream, a failed read — reads afresh, so a window never changes what a poll returns,
 * only when the backend was asked.
 */
export class ReadAhead {
  private readonly windows = new Map<number, ShardWindow>();

  /**
   * A poll returned `shard` up to `afterId` and the shard has more: reads the next pages now (or lets
   * the window that already starts there read on).
   */
  start(adapter: Adapter, shard: number, afterId: string | undefined, limit: number): void {
    const window = this.windows.get(shard);
    if (window !== undefined && window.start === afterId) {
      this.extend(adapter, shard, window, limit);
      return;
    }
    const fresh: ShardWindow = {
      events: [],
      offset: 0,
      start: afterId,
      nextId: afterId,
      hasMore: true,
      extending: undefined,
    };
    this.windows.set(shard, fresh);
    this.extend(adapter, shard, fresh, limit);
  }

  /** The shard's page after `afterId`: served from its window when that holds a full page there, else read. */
  async read(
    adapter: Adapter,
    shard: number,
    afterId: string | undefined,
    limit: number,
  ): Promise<ShardPage> {
    const window = this.windows.get(shard);
    if (window === undefined || window.start !== afterId) {
      if (window !== undefined) this.windows.delete(shard);
      return adapter.pollShard(shard, afterId, limit);
    }
    // The page and an entry after it, so that the page's `hasMore` is known without the window's.
    const needed = limit + 1;
    if (window.events.length - window.offset < needed && window.extending !== undefined) {
      await window.extending;
    }
    // Another poll may have taken the page meanwhile, or the window ended before a page and its successor.
    if (this.windows.get(shard) !== window || window.start !== afterId) {
      return adapter.pollShard(shard, afterId, limit);
    }
    if (window.events.length - window.offset < needed) {
      this.windows.delete(shard);
      return adapter.pollShard(shard, afterId, limit);
    }
    const events = window.events.slice(window.offset, window.offset + limit);
    window.offset += limit;
    const last = events[events.length - 1]!.id;
    window.start = last;
    if (window.offset > 2 * limit) {
      window.events = window.events.slice(window.offset);
      window.offset = 0;
    }
    this.extend(adapter, shard, window, limit);
    // An entry of the window follows the page (checked above): more can be read right away.
    return { events, nextId: last, hasMore: true };
  }

  /** Drops every window (the reads in flight finish unobserved). */
  clear(): void {
    this.windows.clear();
  }

  /**
   * Reads the window on while it holds less than a window's worth of pages and the shard has more:
   * the next window is read as soon as a page of this one is taken, so the backend works on it for
   * as long as the caller works on the rest of this one. (Starting it with two pages to go is too
   * late on Redis: the window reads of four shards queue on one server and take longer than a caller
   * needs for two pages.)
   */
  private extend(adapter: Adapter, shard: number, window: ShardWindow, limit: number): void {
    if (window.extending !== undefined || !window.hasMore) return;
    if (window.events.length - window.offset >= WINDOW_PAGES * limit) return;
    // At least one entry more than a page, so that a window with a page in it also holds its successor.
    const size = Math.max(limit + 1, Math.min(MAX_WINDOW, limit * WINDOW_PAGES));
    window.extending = adapter.pollShard(shard, window.nextId, size).then(
      (page) => {
        window.extending = undefined;
        for (const event of page.events) window.events.push(event);
        if (page.nextId !== undefined) window.nextId = page.nextId;
        window.hasMore = page.hasMore;
      },
      () => {
        // A failed read ends the window: what it holds is served, then polls read afresh.
        window.extending = undefined;
        window.hasMore = false;
      },
    );
  }
}

const byAdapter = new WeakMap<Adapter, ReadAhead>();

/** The read-ahead of an adapter's polls (one per adapter, shared by the bus and readers over it). */
export function readAheadOf(adapter: Adapter): ReadAhead {
  let ahead = byAdapter.get(adapter);
  if (ahead === undefined) {
    ahead = new ReadAhead();
    byAdapter.set(adapter, ahead);
  }
  return ahead;
}
