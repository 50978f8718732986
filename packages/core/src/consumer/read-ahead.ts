import type { Adapter, ShardPage } from "../contract/adapter.js";

/** A page read before it was asked for: where it starts and how long it may be. */
interface AheadPage {
  readonly afterId: string | undefined;
  readonly limit: number;
  readonly page: Promise<ShardPage>;
}

/**
 * Pages read ahead for the next `poll` of an adapter, at most one per shard. A poll that returned a
 * shard's whole page while the shard has more starts reading the next page at once, so the backend's
 * round trip overlaps the consumer's work on the events just returned (a poll loop otherwise leaves
 * the backend idle between polls). The next poll uses the page only when it asks for exactly that
 * position and size, and only a full page (`hasMore`): entries before the end of a full page never
 * change (rule 11), while a short one may have grown since and is read again. Anything else — another
 * cursor, a failed read — reads afresh, so a read-ahead never changes what a poll returns.
 */
export class ReadAhead {
  private readonly pages = new Map<number, AheadPage>();

  /** Starts reading `shard` after `afterId` for the next poll (replacing what was read ahead for it). */
  start(adapter: Adapter, shard: number, afterId: string | undefined, limit: number): void {
    const page = adapter.pollShard(shard, afterId, limit);
    page.catch(() => {}); // a failed read-ahead is read again by the poll that wants it
    this.pages.set(shard, { afterId, limit, page });
  }

  /** The shard's page after `afterId`: the one read ahead when it fits, otherwise a fresh read. */
  read(adapter: Adapter, shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    const ahead = this.pages.get(shard);
    if (ahead === undefined) return adapter.pollShard(shard, afterId, limit);
    this.pages.delete(shard);
    if (ahead.afterId !== afterId || ahead.limit !== limit) return adapter.pollShard(shard, afterId, limit);
    return ahead.page.then(
      (page) => (page.hasMore ? page : adapter.pollShard(shard, afterId, limit)),
      () => adapter.pollShard(shard, afterId, limit),
    );
  }

  /** Drops every page read ahead (their reads finish unobserved). */
  clear(): void {
    this.pages.clear();
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
