import type { Adapter, ShardPage } from "../contract/adapter.js";
import type { Logger } from "../contract/logger.js";
import { sleep } from "../lifecycle/timers.js";

/** A page one follower read, waiting to be delivered. */
export interface FollowedPage {
  readonly shard: number;
  readonly page: ShardPage;
}

/** Pause after a failed streaming read before it resumes, ms (doubling up to the maximum). */
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;

/**
 * Pages a follower may hold read but not yet delivered. Two let a shard's next read travel while the
 * consumer works through its current page (one would leave the backend idle between pages: a read
 * starts only once the page before was taken), and bound what a slow consumer piles up.
 */
const READ_AHEAD_PAGES = 2;

/**
 * Follows shards with the adapter's streaming read (`readShard`), one follower per shard, and hands
 * their pages to one consumer in arrival order. Each follower holds at most {@link READ_AHEAD_PAGES}
 * undelivered pages, so a slow consumer slows the reads down instead of piling pages up. A follower
 * whose read fails logs it and resumes from the last page it handed over, after a growing pause.
 */
export class ShardFollowers {
  private readonly followed = new Set<number>();
  private readonly ready: FollowedPage[] = [];
  /** Per shard: its pages waiting in `ready`, and how to let its follower read on once one is taken. */
  private readonly held = new Map<number, { pages: number; release: (() => void) | undefined }>();
  private wake: (() => void) | undefined;
  private readonly wakeNow = () => {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  };

  constructor(
    private readonly adapter: Adapter,
    /** The position to start a newly followed shard from. */
    private readonly positionOf: (shard: number) => string | undefined,
    private readonly pageSize: number,
    private readonly signal: AbortSignal,
    private readonly logger: Logger,
  ) {
    signal.addEventListener("abort", this.wakeNow, { once: true });
  }

  /** Starts following every shard of `shards` not followed yet. */
  follow(shards: Iterable<number>): void {
    for (const shard of shards) {
      if (this.followed.has(shard)) continue;
      this.followed.add(shard);
      this.held.set(shard, { pages: 0, release: undefined });
      void this.run(shard);
    }
  }

  /**
   * The next page of any shard, waiting at most `waitMs` for one; `undefined` when none came (or the
   * signal aborted). Taking a page lets its follower read on.
   */
  async next(waitMs: number): Promise<FollowedPage | undefined> {
    if (this.ready.length === 0 && !this.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(this.wakeNow, waitMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const item = this.ready.shift();
    if (item !== undefined) {
      const held = this.held.get(item.shard)!;
      held.pages--;
      const release = held.release;
      held.release = undefined;
      release?.();
    }
    return item;
  }

  private async run(shard: number): Promise<void> {
    let position = this.positionOf(shard);
    let pause = RETRY_MIN_MS;
    while (!this.signal.aborted) {
      try {
        const pages = this.adapter.readShard!(shard, position, { signal: this.signal, limit: this.pageSize });
        for await (const page of pages) {
          pause = RETRY_MIN_MS;
          if (page.nextId !== undefined) position = page.nextId;
          await this.handOver({ shard, page });
          if (this.signal.aborted) return;
        }
        if (this.signal.aborted) return;
        // A streaming read ends on its own only when the adapter shut down: nothing more to follow.
        return;
      } catch (error) {
        if (this.signal.aborted) return;
        this.logger.warn(
          { shard, err: error, retryInMs: pause },
          "subscribe: streaming read failed; resuming",
        );
        await sleep(pause, this.signal);
        pause = Math.min(pause * 2, RETRY_MAX_MS);
      }
    }
  }

  /** Queues a page; resolves at once while the follower holds fewer than the read-ahead, else once one is taken. */
  private handOver(item: FollowedPage): Promise<void> | undefined {
    const held = this.held.get(item.shard)!;
    held.pages++;
    this.ready.push(item);
    this.wakeNow();
    if (held.pages < READ_AHEAD_PAGES) return undefined;
    return new Promise((resolve) => {
      const done = () => {
        this.signal.removeEventListener("abort", done);
        resolve();
      };
      held.release = done;
      this.signal.addEventListener("abort", done, { once: true });
    });
  }
}
