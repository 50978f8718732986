import { randomUUID } from "node:crypto";
import type { ShardPage } from "../contract/adapter.js";
import type { GroupCoordinator } from "../contract/group.js";
import { withTimeout } from "../lifecycle/timers.js";
import type { GroupSource } from "./group-options.js";

/** One shard whose lease a member holds. */
export interface Owned {
  readonly shard: number;
  readonly token: string;
  readonly stop: AbortController;
  /** The last position checkpointed (or read from the checkpoint). */
  checkpointed: string | undefined;
  /** The position of the last event handed over (or of the end of the last finished page). */
  position: string | undefined;
  /** Monotonic time just before the last renewal that the backend confirmed was sent. */
  renewedAt: number;
  /** A page of this shard is being delivered or finished: a release waits for it. */
  busy: boolean;
  revoking: boolean;
  /** Monotonic time of the revoke (0 when not revoked). */
  revokedAt: number;
  gone: boolean;
}

/**
 * True once `owned`'s lease went a whole `ttl` without a confirmed renewal: as far as this member
 * knows it no longer holds it, and another member may (the backend's clock started later than ours).
 */
export function leaseExpired(owned: Owned, ttl: number, now = performance.now()): boolean {
  return now - owned.renewedAt >= ttl;
}

/** A page of an owned shard waiting to be delivered. */
export interface Ready {
  readonly owned: Owned;
  readonly page: ShardPage;
  readonly done: () => void;
}

/** What the lease upkeep asks of the member's delivery side. */
export interface LeaseHost {
  readonly source: GroupSource;
  readonly group: string;
  readonly member: string;
  readonly ttl: number;
  readonly owned: Map<number, Owned>;
  /** Aborted when the member closes. */
  readonly signal: AbortSignal;
  /** Starts reading a shard whose lease was taken with `token` by a call sent at `acquiredAt`. */
  start(shard: number, token: string, acquiredAt: number): Promise<void>;
  /** Rebalance: hands the shard over once its page is out. */
  revoke(owned: Owned): Promise<void>;
  /** The lease is gone: stop the shard at once. */
  lose(owned: Owned, why: string): void;
  /** The lease expired by this member's clock: stop the shard at once and release it. */
  fence(owned: Owned): void;
}

/** A coordinator call bounded by the source's timeout, named for errors. */
export function coordinate<T>(
  source: GroupSource,
  what: string,
  run: (coordinator: GroupCoordinator) => Promise<T>,
): Promise<T> {
  return withTimeout(`${source.adapter.name}.coordination.${what}`, source.timeoutMs, () =>
    run(source.coordinator),
  );
}

/** Why a rebalance ran: the member's timer, or the coordinator's report of a change. */
type Cause = "tick" | "watch";

/**
 * The lease side of a group member: on a timer (`min(rebalanceMs, TTL / 3)`), renews the leases held,
 * heartbeats the membership, and moves toward this member's fair share of the shards (sorted members,
 * shards split as evenly as possible): revoking the excess, taking free or expired leases. When the
 * coordinator can watch the group, a change it reports (a member joined or left, a lease changed
 * holder) rebalances at once: a join or a handover then costs round trips, not timer periods.
 * Rebalances run one at a time; one asked for while another runs follows it.
 */
export class LeaseUpkeep {
  private timer: NodeJS.Timeout | undefined;
  /** Monotonic time the timer is due (Infinity when none is set). */
  private dueAt = Number.POSITIVE_INFINITY;
  private ticking: Promise<void> | undefined;
  /** A rebalance asked for that has not begun; later requests join it. */
  private queued: { readonly run: Promise<boolean>; cause: Cause } | undefined;
  /** The last rebalance in the chain (settled when the member is idle). */
  private tail: Promise<unknown> = Promise.resolve();
  /** The latest shard list asked for (a tick refreshes it, a watched change uses the last one). */
  private shardList: Promise<readonly number[]> = Promise.resolve([]);
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly host: LeaseHost,
    private readonly tickMs: number,
  ) {}

  /** Starts the timer (the first tick at once) and watches the group where the coordinator can. */
  start(): void {
    const { source, group, member, signal } = this.host;
    // A member closed before it was first iterated: its stop() already ran, nothing would undo a watch.
    if (signal.aborted) return;
    try {
      this.unwatch = source.coordinator.watch?.(group, () => this.nudge());
    } catch (error) {
      source.logger.warn(
        { group, member, err: error },
        "group: watching the group failed; rebalancing on the timer",
      );
    }
    this.schedule(0);
  }

  /** Stops the watch and the timer, and waits for a tick or rebalance in progress. */
  async stop(): Promise<void> {
    this.unwatch?.();
    this.unwatch = undefined;
    clearTimeout(this.timer);
    this.dueAt = Number.POSITIVE_INFINITY;
    await Promise.all([this.ticking, this.tail]);
  }

  private call<T>(what: string, run: (coordinator: GroupCoordinator) => Promise<T>): Promise<T> {
    return coordinate(this.host.source, what, run);
  }

  private get shortMs(): number {
    return Math.max(10, this.tickMs / 5);
  }

  /** Ticks after `ms` (at once for 0: a joining member's heartbeat should not wait for a timer). */
  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.dueAt = Number.POSITIVE_INFINITY;
    if (this.host.signal.aborted) return;
    if (ms === 0) {
      this.run();
      return;
    }
    this.dueAt = performance.now() + ms;
    this.timer = setTimeout(() => this.run(), ms);
    this.timer.unref();
  }

  private run(): void {
    this.dueAt = Number.POSITIVE_INFINITY;
    this.ticking = this.tick()
      .catch((error: unknown) => {
        this.failed(error);
        return false;
      })
      .then((short) => {
        this.ticking = undefined;
        this.schedule(short ? this.shortMs : this.tickMs);
      });
  }

  private failed(error: unknown): void {
    const { group, member, source } = this.host;
    source.logger.warn({ group, member, err: error }, "group: rebalance failed");
  }

  /** The coordinator reported a change: rebalance now; still short of the share, tick again soon. */
  private nudge(): void {
    if (this.host.signal.aborted) return;
    this.rebalance("watch").then(
      (short) => {
        if (short && this.ticking === undefined && this.dueAt > performance.now() + this.shortMs) {
          this.schedule(this.shortMs);
        }
      },
      (error: unknown) => this.failed(error),
    );
  }

  /** Heartbeat, renew, rebalance, all in one round. True when this member holds fewer than its share. */
  private async tick(): Promise<boolean> {
    const { group, member, ttl } = this.host;
    // Every call of a tick is independent, so they go out together: one round trip before the
    // rebalance decision, whatever the shard count (this member counts itself in whatever the list
    // says, so the heartbeat need not land first). Leases are asked every tick, even when this member
    // has its share: a coordinator that judges expiry by watching revisions (JetStream) must have
    // watched a dead member's leases for a TTL.
    const previous = this.shardList;
    this.shardList = this.host.source.shardIds().catch(() => previous);
    const began = performance.now();
    const [, heartbeatMs, short] = await Promise.all([
      this.renew(),
      this.call("heartbeat", (c) => c.heartbeat(group, member, ttl)).then(() => performance.now() - began),
      this.rebalance("tick"),
    ]);
    this.host.source.logger.debug(
      { group, member, heartbeatMs, tickMs: performance.now() - began },
      "group: tick",
    );
    return short;
  }

  /** Runs a rebalance after the one under way (joining one already waiting to run). */
  private rebalance(cause: Cause): Promise<boolean> {
    if (this.queued !== undefined) {
      if (cause === "tick") this.queued.cause = cause;
      return this.queued.run;
    }
    const queued: { run: Promise<boolean>; cause: Cause } = {
      cause,
      run: this.tail.then(() => {
        this.queued = undefined;
        return this.balance(queued.cause);
      }),
    };
    this.queued = queued;
    this.tail = queued.run.catch(() => {});
    return queued.run;
  }

  /** Moves toward the fair share. True when this member holds fewer shards than its share. */
  private async balance(cause: Cause): Promise<boolean> {
    const { group, member, owned, signal, source } = this.host;
    if (signal.aborted) return false;
    const began = performance.now();
    const [listed, shards, leases] = await Promise.all([
      this.call("members", (c) => c.members(group)),
      this.shardList,
      this.call("leases", (c) => c.leases(group)),
    ]);
    const members = [...listed];
    if (!members.includes(member)) members.push(member);
    members.sort();
    const index = members.indexOf(member);
    const target =
      Math.floor(shards.length / members.length) + (index < shards.length % members.length ? 1 : 0);
    const held = [...owned.values()].filter((shard) => !shard.gone && !shard.revoking);
    source.logger.debug(
      {
        group,
        member,
        cause,
        members: members.length,
        held: held.length,
        target,
        roundMs: performance.now() - began,
      },
      "group: rebalance",
    );
    if (held.length > target) {
      held.sort((a, b) => b.shard - a.shard);
      await Promise.all(held.slice(0, held.length - target).map((shard) => this.host.revoke(shard)));
      return false;
    }
    if (held.length === target || signal.aborted) return false;
    // Start at a different shard per member, so members rarely race for the same lease; the shards
    // missing from the share are asked for together (one refused is retried at the next, short, tick).
    const free = shards.filter((shard) => !leases.has(shard) && !owned.has(shard));
    const offset = free.length === 0 ? 0 : (index * Math.ceil(free.length / members.length)) % free.length;
    const wanted = [...free.slice(offset), ...free.slice(0, offset)].slice(0, target - held.length);
    const taken = await Promise.all(
      wanted.map((shard) =>
        this.take(shard).catch((error: unknown) => {
          source.logger.warn({ group, member, shard, err: error }, "group: taking a shard failed");
          return false;
        }),
      ),
    );
    const count = held.length + taken.filter(Boolean).length;
    return count < target;
  }
  /** Takes the lease of `shard` and starts reading it; false when another member has it. */
  private async take(shard: number): Promise<boolean> {
    const { group, member, ttl, signal } = this.host;
    if (signal.aborted) return false;
    const token = `${member}/${randomUUID()}`;
    const acquiredAt = performance.now();
    if (!(await this.call("acquire", (c) => c.acquire(group, shard, member, token, ttl)))) return false;
    if (signal.aborted) {
      await this.call("release", (c) => c.release(group, shard, token));
      return false;
    }
    try {
      await this.host.start(shard, token, acquiredAt);
    } catch (error) {
      await this.call("release", (c) => c.release(group, shard, token)).catch(() => {});
      throw error;
    }
    return true;
  }

  /** Renews every lease held; one refused, or not renewed for a whole TTL, stops its shard. */
  private async renew(): Promise<void> {
    const { group, ttl, owned, source } = this.host;
    const renewOne = async (shard: Owned): Promise<void> => {
      // The backend counts the TTL from when it applies the renewal, never earlier than this.
      const sentAt = performance.now();
      // Past the deadline the member gave the lease up: renewing it would revive what a successor may
      // be taking over.
      if (leaseExpired(shard, ttl, sentAt)) {
        this.host.fence(shard);
        return;
      }
      let held: boolean | undefined;
      try {
        held = await this.call("renew", (c) => c.renew(group, shard.shard, shard.token, ttl));
      } catch (error) {
        source.logger.warn({ group, shard: shard.shard, err: error }, "group: renew failed");
      }
      if (held === true) shard.renewedAt = sentAt;
      else if (held === false) this.host.lose(shard, "the lease was lost: renewal refused");
      else if (leaseExpired(shard, ttl)) this.host.fence(shard);
    };
    await Promise.all([...owned.values()].filter((shard) => !shard.gone).map(renewOne));
  }
}
