import { setMaxListeners } from "node:events";
import type { ShardPage, StoredEvent } from "../contract/adapter.js";
import type { GroupCoordinator } from "../contract/group.js";
import { sleep } from "../lifecycle/timers.js";
import { followShard } from "./group-follow.js";

import {
  type AckMode,
  type GroupSource,
  type GroupSubscribeOptions,
  type GroupSubscription,
  groupSettings,
} from "./group-options.js";
import { LeaseUpkeep, type Owned, type Ready, coordinate, leaseExpired } from "./group-leases.js";

export type { AckMode, GroupSource, GroupSubscribeOptions, GroupSubscription } from "./group-options.js";

const DONE: IteratorResult<StoredEvent> = Object.freeze({ value: undefined, done: true });

/** Creates a group member over `source` (validated here, so bad options throw at once). */
export function subscribeGroup(source: GroupSource, options: GroupSubscribeOptions): GroupSubscription {
  const { ack, ttl, rebalance, pageSize } = groupSettings(options);
  return new GroupMember(
    source,
    options.group,
    options.member,
    ack,
    ttl,
    rebalance,
    pageSize,
    options.signal,
  );
}

class GroupMember implements GroupSubscription {
  private readonly owned = new Map<number, Owned>();
  private readonly ready: Ready[] = [];
  private current: { item: Ready; index: number } | undefined;
  private wake: (() => void) | undefined;
  private readonly stop = new AbortController();
  private readonly leases: LeaseUpkeep;
  private closing: Promise<void> | undefined;
  private started = false;
  /** How often delivery lets the event loop turn (see `next`), ms. */
  private readonly turnMs: number;
  /** Monotonic time delivery last let the event loop turn. */
  private turnedAt = performance.now();

  constructor(
    private readonly source: GroupSource,
    readonly group: string,
    readonly member: string,
    private readonly ack: AckMode,
    private readonly ttl: number,
    rebalanceMs: number,
    private readonly pageSize: number,
    signal: AbortSignal | undefined,
  ) {
    setMaxListeners(0, this.stop.signal);
    const tickMs = Math.min(rebalanceMs, ttl / 3);
    this.turnMs = tickMs / 4;
    this.leases = new LeaseUpkeep(
      {
        source,
        group,
        member,
        ttl,
        owned: this.owned,
        signal: this.stop.signal,
        start: (shard, token, acquiredAt) => this.start(shard, token, acquiredAt),
        revoke: (owned) => this.revoke(owned),
        lose: (owned, why) => this.lose(owned, why),
        fence: (owned) => this.fence(owned),
      },
      tickMs,
    );
    for (const outer of [signal, source.signal]) {
      if (outer === undefined) continue;
      if (outer.aborted) void this.close();
      else {
        outer.addEventListener("abort", this.closeOnAbort, { once: true });
        this.outerSignals.push(outer);
      }
    }
  }

  /** Closes the member when the caller's or the reader's signal aborts (removed once closed). */
  private readonly closeOnAbort = (): void => void this.close();
  /** The signals {@link closeOnAbort} listens to: a reader outlives its members, and must not keep them. */
  private readonly outerSignals: AbortSignal[] = [];

  shards(): number[] {
    const now = performance.now();
    return [...this.owned.values()]
      .filter((owned) => !owned.gone && !leaseExpired(owned, this.ttl, now))
      .map((owned) => owned.shard)
      .sort((a, b) => a - b);
  }

  async checkpoint(): Promise<void> {
    // Every shard is tried (one unreachable write does not hold the others' progress back); the
    // caller then learns of the first failure: its events are not recorded as processed.
    let failure: { error: unknown } | undefined;
    for (const owned of [...this.owned.values()]) {
      try {
        await this.save(owned);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown().finally(() => {
      for (const outer of this.outerSignals.splice(0)) outer.removeEventListener("abort", this.closeOnAbort);
      this.source.closed?.(this);
    });
    return this.closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<StoredEvent> {
    if (!this.started) {
      this.started = true;
      this.leases.start();
    }
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return DONE;
      },
    };
  }

  private call<T>(what: string, run: (coordinator: GroupCoordinator) => Promise<T>): Promise<T> {
    return coordinate(this.source, what, run);
  }

  // ---- delivery -------------------------------------------------------------------------------

  private async next(): Promise<IteratorResult<StoredEvent>> {
    for (;;) {
      const current = this.current;
      if (current !== undefined) {
        const { item } = current;
        const events = item.page.events;
        if (!item.owned.gone && !this.stop.signal.aborted && current.index < events.length) {
          // The lease is only known to be held up to a TTL after its last confirmed renewal: past it
          // (the event loop was blocked, the backend unreachable) another member may hold the shard.
          const now = performance.now();
          if (leaseExpired(item.owned, this.ttl, now)) {
            this.fence(item.owned);
            continue;
          }
          // A loop body that awaits nothing unsettled keeps delivery in microtasks, where neither the
          // renewal timer nor the coordinator's replies run: now and then, let the event loop turn.
          if (now - this.turnedAt >= this.turnMs) {
            await new Promise((resolve) => setTimeout(resolve, 0));
            this.turnedAt = performance.now();
            continue;
          }
          const event = events[current.index++]!;
          item.owned.position = event.id;
          return { value: event, done: false };
        }
        this.current = undefined;
        await this.finish(item);
        continue;
      }
      if (this.stop.signal.aborted) return DONE;
      const item = await this.take();
      if (item === undefined) continue;
      this.current = { item, index: 0 };
    }
  }

  /** A page was handed over entirely (or its shard was lost): checkpoint (auto), maybe release. */
  private async finish(item: Ready): Promise<void> {
    const { owned, page } = item;
    try {
      if (!owned.gone && page.nextId !== undefined && !this.stop.signal.aborted) owned.position = page.nextId;
      // A revoked shard's position goes with its release, in one call (the successor waits for it).
      // A failed write is retried by the next page's, or carried by the release.
      if (this.ack === "auto" && !this.stop.signal.aborted && !owned.revoking) {
        await this.save(owned).catch((error: unknown) =>
          this.source.logger.warn(
            { group: this.group, shard: owned.shard, err: error },
            "group: checkpoint failed",
          ),
        );
      }
    } finally {
      owned.busy = false;
      item.done();
    }
    if (owned.revoking && !owned.gone) await this.handOver(owned);
  }

  private async take(): Promise<Ready | undefined> {
    if (this.ready.length === 0) {
      const arrived = new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      const timeout = new AbortController();
      const onAbort = () => timeout.abort();
      this.stop.signal.addEventListener("abort", onAbort, { once: true });
      await Promise.race([arrived, sleep(250, timeout.signal)]);
      timeout.abort();
      this.stop.signal.removeEventListener("abort", onAbort);
      this.wake = undefined;
    }
    // Busy from the moment it leaves the queue, in the same step: a revoke that ran between the take
    // and the first delivery would otherwise hand the shard over (checkpoint, release) while this page
    // still gets delivered — a duplicate for the next owner.
    const item = this.ready.shift();
    if (item !== undefined) item.owned.busy = true;
    return item;
  }

  /**
   * Writes the shard's position if it moved; a lost lease stops the shard at once. Rejects with the
   * coordinator's error when the write failed (the position stays unrecorded).
   */
  private async save(owned: Owned): Promise<void> {
    const position = owned.position;
    if (owned.gone || position === undefined || position === owned.checkpointed) return;
    // Past its deadline the member no longer holds the lease as far as it knows: a write would assert
    // it (and on JetStream, where any write renews, extend it) while a successor may be taking over.
    if (leaseExpired(owned, this.ttl)) {
      this.fence(owned);
      return;
    }
    const held = await this.call("writeCheckpoint", (c) =>
      c.writeCheckpoint(this.group, owned.shard, owned.token, position),
    );
    if (held) owned.checkpointed = position;
    else this.lose(owned, "the lease was lost: checkpoint refused");
  }

  // ---- shards ---------------------------------------------------------------------------------

  private async start(shard: number, token: string, acquiredAt: number): Promise<void> {
    const checkpoint = await this.call("readCheckpoint", (c) => c.readCheckpoint(this.group, shard));
    const stop = new AbortController();
    setMaxListeners(0, stop.signal);
    const owned: Owned = {
      shard,
      token,
      stop,
      checkpointed: checkpoint,
      position: checkpoint,
      renewedAt: acquiredAt,
      busy: false,
      revoking: false,
      revokedAt: 0,
      gone: false,
    };
    this.owned.set(shard, owned);
    this.source.logger.info(
      { group: this.group, member: this.member, shard, acquireMs: performance.now() - acquiredAt },
      "group: shard acquired",
    );
    const signal = AbortSignal.any([stop.signal, this.stop.signal]);
    void followShard(this.source, this.group, owned, this.pageSize, signal, (page) =>
      this.queue(owned, page, signal),
    );
  }

  /** Queues a page; resolves once it was delivered (or the shard stopped). */
  private queue(owned: Owned, page: ShardPage, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      this.ready.push({ owned, page, done });
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    });
  }

  /** Forgets the queued pages of a shard (they were not delivered: the next owner reads them). */
  private unqueue(owned: Owned): void {
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const item = this.ready[i]!;
      if (item.owned === owned) {
        this.ready.splice(i, 1);
        item.done();
      }
    }
  }

  /**
   * The lease expired by this member's clock: stop the shard, and release it without a checkpoint.
   * The backend may still count it held (its clock started later); the release, fenced by the token,
   * frees it at once rather than after that, and is a no-op if the lease was taken over meanwhile.
   */
  private fence(owned: Owned): void {
    if (owned.gone) return;
    this.lose(owned, "the lease expired unrenewed");
    this.call("release", (c) => c.release(this.group, owned.shard, owned.token)).catch((error: unknown) =>
      this.source.logger.warn({ group: this.group, shard: owned.shard, err: error }, "group: release failed"),
    );
  }

  /** The lease is gone: stop the shard at once, without writing anything. */
  private lose(owned: Owned, why: string): void {
    if (owned.gone) return;
    owned.gone = true;
    owned.stop.abort();
    this.unqueue(owned);
    if (this.owned.get(owned.shard) === owned) this.owned.delete(owned.shard);
    this.source.logger.warn({ group: this.group, member: this.member, shard: owned.shard }, `group: ${why}`);
  }

  /** Rebalance: stop reading the shard, and once its page is out, checkpoint then release it. */
  private async revoke(owned: Owned): Promise<void> {
    if (owned.revoking || owned.gone) return;
    owned.revoking = true;
    owned.revokedAt = performance.now();
    this.source.logger.debug(
      { group: this.group, member: this.member, shard: owned.shard, busy: owned.busy },
      "group: revoking",
    );
    owned.stop.abort();
    this.unqueue(owned);
    if (!owned.busy) await this.handOver(owned);
  }

  /** Releases the shard, with its position when auto ack moved it (one call: the release carries it). */
  private async handOver(owned: Owned): Promise<void> {
    if (owned.gone) return;
    owned.gone = true;
    if (this.owned.get(owned.shard) === owned) this.owned.delete(owned.shard);
    const began = performance.now();
    const moved = owned.position !== undefined && owned.position !== owned.checkpointed;
    // Past the deadline the release goes without the position (see `save`).
    const position = this.ack === "auto" && moved && !leaseExpired(owned, this.ttl) ? owned.position : undefined;
    try {
      await this.call("release", (c) => c.release(this.group, owned.shard, owned.token, position));
    } catch (error) {
      this.source.logger.warn({ group: this.group, shard: owned.shard, err: error }, "group: release failed");
      return;
    }
    if (position !== undefined) owned.checkpointed = position;
    this.source.logger.info(
      {
        group: this.group,
        member: this.member,
        shard: owned.shard,
        position: owned.checkpointed,
        pageMs: owned.revokedAt === 0 ? 0 : began - owned.revokedAt,
        releaseMs: performance.now() - began,
      },
      "group: shard released",
    );
  }

  private async shutdown(): Promise<void> {
    this.stop.abort();
    await this.leases.stop();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    for (const owned of [...this.owned.values()]) {
      owned.stop.abort();
      this.unqueue(owned);
    }
    // The releases and the leave are independent: one round, so the others take over at once.
    await Promise.all([
      ...[...this.owned.values()].map((owned) => this.handOver(owned)),
      this.call("leave", (c) => c.leave(this.group, this.member)).catch((error: unknown) =>
        this.source.logger.warn(
          { group: this.group, member: this.member, err: error },
          "group: leave failed",
        ),
      ),
    ]);
  }
}
