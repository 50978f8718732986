import type { ShardPage } from "@netmesh/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { classify } from "./classify.js";
import { duplicateOf } from "./duplicate.js";
import type { StreamEntry } from "./read-page.js";
import type { Redactor } from "./redaction.js";

/** How long one `XREAD BLOCK` waits before the loop looks again, ms. Any wait is cut short by new entries. */
const BLOCK_MS = 10_000;

/** What {@link followStream} needs. */
export interface FollowPlan {
  /** The adapter's client; the blocking reads use a duplicate of it, never this connection. */
  readonly client: Redis | Cluster;
  readonly stream: string;
  readonly afterId: string | undefined;
  readonly signal: AbortSignal;
  readonly limit: number;
  /** The adapter's page read (direct or by the read script, as `pollShard` reads), shared with `pollShard`. */
  readonly read: (afterId: string | undefined, limit: number) => Promise<ShardPage>;
  /** Turns entries of the stream (as `XREAD` returns them) into a page, with the checks of `read`. */
  readonly toPage: (entries: readonly StreamEntry[], limit: number) => ShardPage;
  readonly redactor: Redactor;
}

/**
 * Follows a stream: pages with the adapter's page read while entries are there, and when caught up
 * waits in `XREAD BLOCK` for the next entry after the cursor, on a connection of its own (a blocking
 * command would stall every write queued behind it on the shared one). `XREAD` returns at once when an
 * entry after the cursor already exists, so nothing written between the two reads is missed; the
 * entries it returns are the next page (no second round trip to read what woke it). While a page that
 * has more is consumed, the page after it is already being read: it starts where that page ends, which
 * is where the next read would start anyway. Aborting the signal disconnects the blocking connection,
 * which ends the iteration at once.
 */
export async function* followStream(plan: FollowPlan): AsyncIterable<ShardPage> {
  const { signal } = plan;
  let cursor = plan.afterId;
  let blocking: Redis | Cluster | undefined;
  /** A page `XREAD` returned, yielded before the next page read. */
  let woken: ShardPage | undefined;
  /** The read of the page after the one being consumed. */
  let ahead: Promise<ShardPage> | undefined;
  const cut = () => blocking?.disconnect();
  signal.addEventListener("abort", cut, { once: true });
  try {
    while (!signal.aborted) {
      const page = woken ?? (await (ahead ?? plan.read(cursor, plan.limit)));
      woken = undefined;
      ahead = undefined;
      if (page.nextId !== undefined) {
        cursor = page.nextId;
        if (page.hasMore) {
          ahead = plan.read(cursor, plan.limit);
          // Awaited on the next turn; until then (or if the iteration ends first) its failure is no crash.
          ahead.catch(() => {});
        }
        yield page;
        if (page.hasMore) continue;
      }
      if (signal.aborted) return;
      if (blocking === undefined) {
        blocking = duplicateOf(plan.client);
        // Its failures reach us as the rejected XREAD below; the event would only be noise.
        blocking.on("error", () => {});
      }
      // COUNT limit + 1, as the page read asks: the extra entry only tells that more follow.
      const reply = (await blocking.xread(
        "COUNT",
        plan.limit >= Number.MAX_SAFE_INTEGER ? plan.limit : plan.limit + 1,
        "BLOCK",
        BLOCK_MS,
        "STREAMS",
        plan.stream,
        cursor ?? "0-0",
      )) as [stream: string, entries: StreamEntry[]][] | null;
      const entries = reply?.[0]?.[1];
      if (entries !== undefined && entries.length > 0) woken = plan.toPage(entries, plan.limit);
    }
  } catch (error) {
    if (signal.aborted) return; // the cut connection's error is how the wait ends
    throw classify(error, `follow ${plan.stream}`, plan.redactor);
  } finally {
    signal.removeEventListener("abort", cut);
    blocking?.disconnect();
  }
}
