import type { ShardPage } from "@netmesh/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { classify } from "./classify.js";
import type { StreamEntry } from "./read-page.js";
import type { Redactor } from "./redaction.js";

/** How long one `XREAD BLOCK` waits before the loop looks again, ms. Any wait is cut short by new entries. */
const BLOCK_MS = 10_000;

/** A new client with the same options (a `Redis` or a `Cluster`): the connection a blocking read owns. */
function duplicate(client: Redis | Cluster): Redis | Cluster {
  return (client as Cluster).isCluster ? (client as Cluster).duplicate() : (client as Redis).duplicate();
}

/** What {@link followStream} needs. */
export interface FollowPlan {
  /** The adapter's client; the blocking reads use a duplicate of it, never this connection. */
  readonly client: Redis | Cluster;
  readonly stream: string;
  readonly afterId: string | undefined;
  readonly signal: AbortSignal;
  readonly limit: number;
  /** The adapter's page read (`XRANGE`), shared with `pollShard`. */
  readonly read: (afterId: string | undefined, limit: number) => Promise<ShardPage>;
  /** Turns entries of the stream (as `XRANGE` and `XREAD` return them) into a page, as `read` does. */
  readonly toPage: (entries: readonly StreamEntry[], limit: number) => ShardPage;
  readonly redactor: Redactor;
}

/**
 * Follows a stream: pages with `XRANGE` while entries are there, and when caught up waits in
 * `XREAD BLOCK` for the next entry after the cursor, on a connection of its own (a blocking command
 * would stall every write queued behind it on the shared one). `XREAD` returns at once when an entry
 * after the cursor already exists, so nothing written between the two reads is missed; the entries it
 * returns are the next page (no second round trip to read what woke it). Aborting the
 * signal disconnects the blocking connection, which ends the iteration at once.
 */
export async function* followStream(plan: FollowPlan): AsyncIterable<ShardPage> {
  const { signal } = plan;
  let cursor = plan.afterId;
  let blocking: Redis | Cluster | undefined;
  /** A page `XREAD` returned, yielded before the next `XRANGE`. */
  let woken: ShardPage | undefined;
  const cut = () => blocking?.disconnect();
  signal.addEventListener("abort", cut, { once: true });
  try {
    while (!signal.aborted) {
      const page = woken ?? (await plan.read(cursor, plan.limit));
      woken = undefined;
      if (page.nextId !== undefined) {
        cursor = page.nextId;
        yield page;
        if (page.hasMore) continue;
      }
      if (signal.aborted) return;
      if (blocking === undefined) {
        blocking = duplicate(plan.client);
        // Its failures reach us as the rejected XREAD below; the event would only be noise.
        blocking.on("error", () => {});
      }
      // COUNT limit + 1, as XRANGE reads it: the extra entry only tells that more follow.
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
