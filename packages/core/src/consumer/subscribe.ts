import type { StoredEvent } from "../contract/adapter.js";
import { InvalidPollRequestError } from "../errors.js";
import { sleep } from "../lifecycle/timers.js";
import { CompositeCursor } from "./cursor.js";
import { type Filter, compileFilter } from "./filter.js";
import type { PollOrder, PollRequest, PollResult } from "./poll.js";
import { compareIds } from "../contract/ids.js";

/** Options of `EventBus.subscribe()`. */
export interface SubscribeOptions {
  /** Resume after this cursor (a `PollResult.cursor` or a `Subscription.cursor`). Default: the beginning. */
  readonly cursor?: string;
  /** Deliver only matching events. */
  readonly filter?: Filter | string;
  /** Order within each page. Default `"none"`. */
  readonly order?: PollOrder;
  /** Shards to follow. Default: every live shard. */
  readonly shards?: readonly number[];
  /** Events read per poll. Default 1,000. */
  readonly pageSize?: number;
  /** First idle back-off in ms (doubles while idle). Default 5. */
  readonly minIdleMs?: number;
  /** Longest idle back-off in ms. Default 250. */
  readonly maxIdleMs?: number;
  /** Ends the iteration (cleanly, without an error) when aborted. */
  readonly signal?: AbortSignal;
}

/** A live, resumable stream of events: iterate it with `for await`. */
export interface Subscription extends AsyncIterable<StoredEvent> {
  /** Cursor just after the last event delivered: subscribe again with it to resume exactly there. */
  readonly cursor: string;
  /** Ends the iteration after the event being delivered. */
  close(): void;
}

/** What a subscription needs from the bus. */
export interface SubscriptionSource {
  poll(request: PollRequest): Promise<PollResult>;
  readonly isClosed: boolean;
}

/**
 * Tracks, per shard, the longest run of a page's events delivered in shard order, so the cursor never
 * passes an event that was fetched but not yet delivered (pages in insertion order can interleave a
 * shard's events out of id order when several producers write to it).
 */
class DeliveryTracker {
  private readonly order = new Map<number, string[]>();
  private readonly done = new Map<number, Set<string>>();
  private readonly next = new Map<number, number>();

  constructor(
    events: readonly StoredEvent[],
    private readonly cursor: CompositeCursor,
  ) {
    for (const event of events) {
      const ids = this.order.get(event.shard);
      if (ids) ids.push(event.id);
      else this.order.set(event.shard, [event.id]);
    }
    for (const ids of this.order.values()) ids.sort(compareIds);
  }

  delivered(event: StoredEvent): void {
    const ids = this.order.get(event.shard)!;
    const done = this.done.get(event.shard) ?? new Set<string>();
    this.done.set(event.shard, done);
    done.add(event.id);
    let index = this.next.get(event.shard) ?? 0;
    while (index < ids.length && done.has(ids[index]!)) index++;
    this.next.set(event.shard, index);
    if (index > 0) this.cursor.set(event.shard, ids[index - 1]!);
  }
}

function positive(field: string, value: number | undefined, fallback: number, max: number): number {
  const chosen = value ?? fallback;
  if (!Number.isFinite(chosen) || chosen <= 0 || chosen > max) {
    throw new InvalidPollRequestError(field, `must be a number in (0, ${max}], got ${String(value)}`);
  }
  return chosen;
}

/**
 * Creates a subscription over `source`. Input is validated here, so a bad cursor or filter throws at
 * once rather than at the first iteration.
 */
export function subscribe(source: SubscriptionSource, options: SubscribeOptions = {}): Subscription {
  let cursor = CompositeCursor.decode(options.cursor);
  if (options.filter !== undefined) compileFilter(options.filter);
  const pageSize = positive("pageSize", options.pageSize, 1_000, 100_000);
  const minIdleMs = positive("minIdleMs", options.minIdleMs, 5, 60_000);
  const maxIdleMs = positive("maxIdleMs", options.maxIdleMs, 250, 60_000);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();

  async function* iterate(): AsyncGenerator<StoredEvent> {
    let idle = minIdleMs;
    try {
      while (!stop.signal.aborted) {
        const drained = source.isClosed;
        const page = await source.poll({
          limit: pageSize,
          cursor: cursor.encode(),
          ...(options.filter !== undefined && { filter: options.filter }),
          ...(options.order !== undefined && { order: options.order }),
          ...(options.shards !== undefined && { shards: options.shards }),
        });
        const tracker = new DeliveryTracker(page.events, cursor);
        for (const event of page.events) {
          // Counted before the yield: a consumer that breaks on this event has received it, and a
          // generator resumes nothing after a `break`.
          tracker.delivered(event);
          yield event;
          if (stop.signal.aborted) return;
        }
        cursor = CompositeCursor.decode(page.cursor);
        if (page.events.length > 0 || page.hasMore) {
          idle = minIdleMs;
          continue;
        }
        // Nothing new. After shutdown began, one more empty page means everything was read.
        if (drained) return;
        await sleep(idle, stop.signal);
        idle = Math.min(idle * 2, maxIdleMs);
      }
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  return {
    get cursor() {
      return cursor.encode();
    },
    close: () => stop.abort(),
    [Symbol.asyncIterator]: iterate,
  };
}
