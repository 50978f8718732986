import { setMaxListeners } from "node:events";
import type { Adapter, StoredEvent } from "../contract/adapter.js";
import type { Logger } from "../contract/logger.js";
import { InvalidPollRequestError } from "../errors.js";
import { sleep } from "../lifecycle/timers.js";
import { CompositeCursor, type EntryIdFormat } from "./cursor.js";
import { type CompiledFilter, type Filter, compileFilter } from "./filter.js";
import { ShardFollowers } from "./shard-followers.js";
import type { PollRequest, PollResult } from "./poll.js";
import { type PollOrder, checkOrder, checkPageSize, checkShardIds } from "./read-request.js";
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
  /** Events read per poll (or per streamed page), an integer in [1, 100,000]. Default 1,000. */
  readonly pageSize?: number;
  /** First idle back-off in ms (doubles while idle), when polling. Default 5. */
  readonly minIdleMs?: number;
  /** Longest idle back-off in ms, when polling. Default 250. */
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
  /** Shutdown began: no new event is accepted. */
  isClosed(): boolean;
  /** Shutdown settled every accepted event: nothing new will be stored. */
  isDrained(): boolean;
  /** The adapter, when its streaming read should be used; `undefined` to poll. */
  readonly streamingAdapter: Adapter | undefined;
  /** The adapter's entry-id check, so a cursor of another backend is refused at once. */
  readonly entryIds: EntryIdFormat;
  /** The shards to follow by default (live ones). */
  shardIds(): number[];
  readonly logger: Logger;
  /** Registers a running iteration; call the result when it ends. Shutdown waits for running ones. */
  track(): () => void;
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

  /** Records that `events[from … to)` were handed over, in page order. */
  deliveredRange(events: readonly StoredEvent[], from: number, to: number): void {
    for (let i = from; i < to; i++) this.delivered(events[i]!);
  }

  private delivered(event: StoredEvent): void {
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
 * A page being handed to the consumer, with how to move the cursor over what was handed out. The
 * cursor is settled lazily (when it is read, or the iteration stops mid-page), not per event: moving
 * it compares entry ids, which would cost more than handing the event over.
 */
interface DeliveryPage {
  readonly events: readonly StoredEvent[];
  /** Records that `events[from … to)` were handed over (moves the cursor past them). */
  settle(from: number, to: number): void;
  /** Records that every event of the page was handed over. */
  finished(): void;
}

const DONE: IteratorResult<StoredEvent> = Object.freeze({ value: undefined, done: true });

/** How long a streaming subscription waits for a page before it looks for new shards or a shutdown. */
const FOLLOW_TICK_MS = 250;

/**
 * Creates a subscription over `source`. Input is validated here, so a bad cursor, filter, page size,
 * order or shard list throws at once (`InvalidCursorError`, `InvalidFilterError`,
 * `InvalidPollRequestError`) rather than at the first iteration, or never.
 *
 * With an adapter that streams (`capabilities.streamingReads`) and order `"none"`, every shard is
 * followed with `readShard`: an event is delivered as soon as the adapter sees it stored. Otherwise, and
 * once shutdown begins, it polls with back-off. After shutdown it ends once everything stored has been
 * delivered (shutdown waits for running subscriptions, see `ShutdownOptions.subscriptionGraceMs`).
 */
export function subscribe(source: SubscriptionSource, options: SubscribeOptions = {}): Subscription {
  let cursor = CompositeCursor.decode(options.cursor, source.entryIds);
  const filter: CompiledFilter | undefined =
    options.filter === undefined ? undefined : compileFilter(options.filter);
  // Checked here, not by the first poll: a streaming follower would only see its reads fail, and retry.
  const pageSize = checkPageSize("pageSize", options.pageSize ?? 1_000);
  const order = checkOrder(options.order);
  const shards = checkShardIds(options.shards);
  const minIdleMs = positive("minIdleMs", options.minIdleMs, 5, 60_000);
  const maxIdleMs = positive("maxIdleMs", options.maxIdleMs, 250, 60_000);
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // one listener per followed shard
  const onAbort = () => stop.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  const streaming = order === "none" ? source.streamingAdapter : undefined;

  const followedShards = (): number[] =>
    shards !== undefined ? shards : [...new Set([...source.shardIds(), ...cursor.shardIds()])];

  async function* follow(adapter: Adapter): AsyncGenerator<DeliveryPage> {
    // The followers end with the subscription, and also when it leaves this mode for polling.
    const local = new AbortController();
    const signal = AbortSignal.any([stop.signal, local.signal]);
    setMaxListeners(0, signal);
    const followers = new ShardFollowers(
      adapter,
      (shard) => cursor.get(shard),
      pageSize,
      signal,
      source.logger,
    );
    try {
      while (!stop.signal.aborted && !source.isClosed()) {
        followers.follow(followedShards());
        const item = await followers.next(FOLLOW_TICK_MS);
        if (item === undefined) continue;
        const { shard, page } = item;
        const events =
          filter === undefined
            ? page.events
            : page.events.filter((event) => matches(filter, event, source.logger));
        yield {
          events,
          // Events of one shard, in its order: the last one handed over is the position.
          settle: (_from, to) => void cursor.advance(shard, events[to - 1]!.id),
          finished: () => {
            if (page.nextId !== undefined) cursor.advance(shard, page.nextId);
          },
        };
      }
    } finally {
      local.abort(); // polling takes over from the cursor: what followers read but did not hand over is read again
    }
  }

  async function* poll(): AsyncGenerator<DeliveryPage> {
    let idle = minIdleMs;
    while (!stop.signal.aborted) {
      const drained = source.isDrained();
      const page = await source.poll({
        limit: pageSize,
        cursor: cursor.encode(),
        ...(options.filter !== undefined && { filter: options.filter }),
        order,
        ...(shards !== undefined && { shards }),
      });
      const tracker = new DeliveryTracker(page.events, cursor);
      yield {
        events: page.events,
        settle: (from, to) => tracker.deliveredRange(page.events, from, to),
        finished: () => {
          cursor = CompositeCursor.decode(page.cursor);
        },
      };
      if (page.events.length > 0 || page.hasMore) {
        idle = minIdleMs;
        continue;
      }
      // Nothing new. Once shutdown settled every event, one more empty page means everything was read,
      // unless a shard's read failed: what it stored is still to be delivered, so retry after the pause.
      if (drained && page.failedShards.length === 0) return;
      await sleep(idle, stop.signal);
      idle = Math.min(idle * 2, maxIdleMs);
    }
  }

  async function* pages(): AsyncGenerator<DeliveryPage> {
    const untrack = source.track();
    try {
      if (streaming !== undefined && !source.isClosed()) yield* follow(streaming);
      yield* poll();
    } finally {
      untrack();
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  // Events are handed out by a plain iterator over the current page: a generator `yield` per event
  // costs about twice as much, and a subscription reads as fast as the backend lets it. `handed`
  // counts the page's events handed over (the one being delivered included: a consumer that breaks
  // on it has received it); `settled` how many of them the cursor already covers.
  let page: DeliveryPage | undefined;
  let handed = 0;
  let settled = 0;
  const settle = () => {
    if (page !== undefined && settled < handed) {
      page.settle(settled, handed);
      settled = handed;
    }
  };

  function iterate(): AsyncIterator<StoredEvent> {
    const feed = pages();
    const advance = async (): Promise<IteratorResult<StoredEvent>> => {
      if (page !== undefined) {
        // Stopped mid-page: the cursor covers what was handed over, not the rest of the page.
        if (handed < page.events.length) settle();
        else page.finished();
        page = undefined;
      }
      for (;;) {
        if (stop.signal.aborted) {
          await feed.return(undefined);
          return DONE;
        }
        const next = await feed.next();
        if (next.done === true) return DONE;
        if (next.value.events.length === 0) {
          next.value.finished();
          continue;
        }
        page = next.value;
        handed = 1;
        settled = 0;
        return { value: page.events[0]!, done: false };
      }
    };
    return {
      next() {
        if (page !== undefined && handed < page.events.length && !stop.signal.aborted) {
          return Promise.resolve({ value: page.events[handed++]!, done: false });
        }
        return advance();
      },
      async return() {
        settle();
        page = undefined;
        await feed.return(undefined);
        return DONE;
      },
    };
  }

  return {
    get cursor() {
      settle();
      return cursor.encode();
    },
    close: () => stop.abort(),
    [Symbol.asyncIterator]: iterate,
  };
}

/** Whether a streamed event passes the filter; an event whose JSON cannot be parsed does not (logged). */
function matches(filter: CompiledFilter, event: StoredEvent, logger: Logger): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(event.json);
  } catch {
    logger.warn(
      { shard: event.shard, id: event.id },
      "subscribe: skipping an event whose JSON cannot be parsed",
    );
    return false;
  }
  return filter.matches(parsed);
}
