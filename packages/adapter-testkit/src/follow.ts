import type { Adapter, ShardPage, StoredEvent } from "@netmesh/core/adapter";
import { expectValidPage } from "./read-shard.js";

/** Options of {@link followShard}. */
export interface FollowOptions {
  /** Page size asked of `readShard`. */
  readonly limit: number;
  /** Stop (abort the read) once this returns true for the events collected so far. */
  readonly until: (events: readonly StoredEvent[]) => boolean;
  /** Give up after this long, ms (a failure naming what was collected). Default 10,000. */
  readonly timeoutMs?: number;
}

/** What {@link followShard} collected. */
export interface Followed {
  readonly events: StoredEvent[];
  /** The last `nextId` seen. */
  readonly cursor: string | undefined;
}

/**
 * Follows a shard with `readShard` until `until` holds, checking every page: at most `limit` events,
 * all of the shard, `nextId` the last event's id, and no page that neither holds an event nor moves
 * the cursor. Aborts the read when done and requires the iteration to end without an error.
 */
export async function followShard(
  adapter: Adapter,
  shard: number,
  afterId: string | undefined,
  options: FollowOptions,
): Promise<Followed> {
  if (typeof adapter.readShard !== "function") throw new Error(`adapter ${adapter.name} has no readShard()`);
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? 10_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error("follow timed out"));
  }, timeoutMs);
  const events: StoredEvent[] = [];
  let cursor = afterId;
  let pages = 0;
  try {
    for await (const page of adapter.readShard(shard, afterId, {
      signal: controller.signal,
      limit: options.limit,
    }) as AsyncIterable<ShardPage>) {
      pages++;
      const where = `readShard(${shard}, ${JSON.stringify(afterId)}), page ${pages} after ${JSON.stringify(cursor)}`;
      if (page.events.length === 0) {
        if (page.nextId === undefined || page.nextId === cursor) {
          throw new Error(
            `${where}: yielded a page with no event that does not move nextId (${JSON.stringify(page.nextId)})`,
          );
        }
      } else expectValidPage(page, shard, options.limit, where);
      events.push(...page.events);
      cursor = page.nextId ?? cursor;
      if (options.until(events)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  if (timedOut) {
    throw new Error(
      `readShard(${shard}) followed for ${timeoutMs} ms and collected only ${events.length} events`,
    );
  }
  if (!options.until(events)) {
    throw new Error(
      `readShard(${shard}) ended before the expected events arrived (${events.length} collected)`,
    );
  }
  return { events, cursor };
}
