import type { Adapter, ShardPage, StoredEvent } from "@netmesh/core/adapter";
import { expect } from "vitest";

/**
 * Checks the invariants every page must keep, whatever was stored (the `ShardPage` docs): at most
 * `limit` events, all of the polled shard, `nextId` the id of the last event returned, and an empty
 * page meaning "nothing after your cursor" (`nextId` undefined, `hasMore` false). The suite writes no
 * corrupt records, so `nextId` can never legitimately point past the last event returned.
 */
export function expectValidPage(page: ShardPage, shard: number, limit: number, where: string): void {
  expect(page, `${where}: pollShard must resolve a page object`).toBeTypeOf("object");
  expect(Array.isArray(page.events), `${where}: page.events must be an array`).toBe(true);
  expect(page.events.length, `${where}: page holds more than limit ${limit} events`).toBeLessThanOrEqual(
    limit,
  );
  expect(typeof page.hasMore, `${where}: page.hasMore must be a boolean`).toBe("boolean");
  const last = page.events.at(-1);
  if (last === undefined) {
    expect(
      page.nextId,
      `${where}: an empty page must have nextId undefined ("keep your cursor")`,
    ).toBeUndefined();
    expect(page.hasMore, `${where}: an empty page must have hasMore false`).toBe(false);
    return;
  }
  expect(page.nextId, `${where}: nextId must be the id of the last event returned`).toBe(last.id);
  for (const [i, event] of page.events.entries()) {
    expect(typeof event.id, `${where}: events[${i}].id must be a string`).toBe("string");
    expect(event.id.length, `${where}: events[${i}].id must not be empty`).toBeGreaterThan(0);
    expect(event.shard, `${where}: events[${i}].shard must be the polled shard`).toBe(shard);
  }
}

/** Options of {@link readShard}. */
export interface ReadShardOptions {
  /** Page size. Default 1,000. */
  readonly limit?: number;
  /** Start after this id. Default: from the start. */
  readonly afterId?: string;
  /**
   * How many events at most the shard should hold: reading stops with a failure past twice this, so a
   * cursor that repeats (inclusive, stuck) fails the case instead of looping forever.
   */
  readonly expectedAtMost: number;
}

/** A full read of one shard. */
export interface ShardRead {
  readonly events: StoredEvent[];
  /** Number of `pollShard` calls made. */
  readonly pages: number;
  /** The cursor after the read: the last `nextId` seen, or the start cursor. */
  readonly cursor: string | undefined;
}

/**
 * Reads a shard to its end by following `nextId` until `hasMore` is false, checking every page (see
 * {@link expectValidPage}) and that no id is returned twice and no cursor fails to advance.
 */
export async function readShard(
  adapter: Adapter,
  shard: number,
  options: ReadShardOptions,
): Promise<ShardRead> {
  const limit = options.limit ?? 1000;
  const bound = options.expectedAtMost * 2 + limit;
  const events: StoredEvent[] = [];
  const seen = new Set<string>();
  let cursor = options.afterId;
  let pages = 0;
  for (;;) {
    const where = `shard ${shard}, page ${pages + 1} after ${JSON.stringify(cursor)} (limit ${limit})`;
    const page = await adapter.pollShard(shard, cursor, limit);
    pages++;
    expectValidPage(page, shard, limit, where);
    for (const event of page.events) {
      if (seen.has(event.id)) {
        throw new Error(
          `${where}: id ${JSON.stringify(event.id)} returned twice: the cursor is not exclusive`,
        );
      }
      seen.add(event.id);
      events.push(event);
    }
    if (page.events.length === 0) {
      // An empty page with hasMore true would be an endless loop; expectValidPage already refused it.
      return { events, pages, cursor };
    }
    cursor = page.nextId;
    if (!page.hasMore) return { events, pages, cursor };
    if (events.length > bound) {
      throw new Error(
        `shard ${shard}: read ${events.length} events, far more than written: paging never ends`,
      );
    }
  }
}

/** Polls `shard` and expects the empty page `{ events: [], nextId: undefined, hasMore: false }`. */
export async function expectEmptyShard(
  adapter: Adapter,
  shard: number,
  afterId: string | undefined,
  why: string,
): Promise<void> {
  const page = await adapter.pollShard(shard, afterId, 100);
  expect(page.events.length, `${why}: expected no events in shard ${shard}`).toBe(0);
  expect(page.nextId, `${why}: an empty page must have nextId undefined`).toBeUndefined();
  expect(page.hasMore, `${why}: an empty page must have hasMore false`).toBe(false);
}
