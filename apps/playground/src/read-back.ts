import { setTimeout as sleep } from "node:timers/promises";
import type { PollOrder, Reader, StoredEvent } from "@netmesh/core";

/** Options of {@link readBack}. */
export interface ReadBackOptions {
  /** Events per `poll` call. */
  readonly pageSize?: number;
  /** `"insertion"` after a topology change: a key's events may then span shards. Default `"none"`. */
  readonly order?: PollOrder;
  /** Called after every page with the running total (drives the progress line). */
  readonly onPage?: (eventsSoFar: number) => void;
}

/** What a read-back did, besides handing the events over. */
export interface ReadBackResult {
  /** Events read, over all shards. */
  readonly events: number;
  /** `poll` calls made. */
  readonly pages: number;
  /** Problems with the paging itself (failing or stalled shards, too many pages). */
  readonly problems: readonly string[];
}

const DEFAULT_PAGE_SIZE = 40_000;
/** Polls in a row that may report failed shards before the read-back gives up on them. */
const MAX_FAILED_POLLS = 20;
const FAILED_POLL_PAUSE_MS = 100;

/**
 * Reads every stored event back from the backend through a consumer-only `Reader` (its own adapter,
 * its own connection: what another process would see), the way a consumer would: `reader.poll` with
 * the previous result's cursor until `hasMore` is false. Each event goes to `visit`.
 *
 * Bounded: at most `expectedTotal / pageSize` pages plus a margin; a shard that keeps failing or that
 * claims more events without progress is reported rather than polled forever.
 */
export async function readBack(
  reader: Reader,
  expectedTotal: number,
  visit: (event: StoredEvent) => void,
  options: ReadBackOptions = {},
): Promise<ReadBackResult> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const order = options.order ?? "none";
  const shardCount = reader.shardIds().length;
  const maxPages = Math.ceil(expectedTotal / pageSize) * 2 + shardCount * 4 + MAX_FAILED_POLLS + 10;
  const problems: string[] = [];
  let events = 0;
  let pages = 0;
  let failedInARow = 0;
  let cursor: string | undefined;
  for (;;) {
    if (pages >= maxPages) {
      problems.push(`gave up after ${pages} pages (expected about ${Math.ceil(expectedTotal / pageSize)})`);
      break;
    }
    const page = await reader.poll({ limit: pageSize, order, ...(cursor === undefined ? {} : { cursor }) });
    pages++;
    for (const event of page.events) visit(event);
    events += page.events.length;
    cursor = page.cursor;
    options.onPage?.(events);
    if (page.stalledShards.length > 0) {
      problems.push(`shards ${page.stalledShards.join(", ")} claimed more events but made no progress`);
      break;
    }
    if (page.failedShards.length > 0) {
      if (++failedInARow >= MAX_FAILED_POLLS) {
        problems.push(`shards ${page.failedShards.join(", ")} failed ${failedInARow} polls in a row`);
        break;
      }
      await sleep(FAILED_POLL_PAUSE_MS);
      continue;
    }
    failedInARow = 0;
    if (!page.hasMore) break;
  }
  return { events, pages, problems };
}
