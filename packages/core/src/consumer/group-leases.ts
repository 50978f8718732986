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
  gone: boolean;
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

/**
 * The lease side of a group member: on a timer (`min(rebalanceMs, TTL / 3)`), renews the leases held,
 * heartbeats the membership, and moves toward this member's fair share of the shards (sorted members,
 * shards split as evenly as possible): revoking the excess, taking free or expired leases.
 */
export class LeaseUpkeep {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(
    private readonly host: LeaseHost,
    private readonly tickMs: number,
  ) {}

  /** Starts the timer (the first tick at once). */
  start(): void {
    this.schedule(0);
  }

  /** Stops the timer and waits for a tick in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.ticking;
  }

  private call<T>(what: string, run: (coordinator: GroupCoordinator) => Promise<T>): Promise<T> {
    return coordinate(this.host.source, what, run);
  }

  private schedule(ms: number): void {
    const { host } = this;
    if (host.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((error: unknown) => {
          host.source.logger.warn(
            { group: host.group, member: host.member, err: error },
            "group: rebalance failed",
          );
          return false;
        })
        .then((short) => {
          this.ticking = undefined;
          this.schedule(short ? Math.max(10, this.tickMs / 5) : this.tickMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** Heartbeat, renew, rebalance. True when this member holds fewer shards than its share. */
  private async tick(): Promise<boolean> {
    const { group, member, ttl, owned, signal } = this.host;
    // Every call of a tick is independent, so they go out together: one round trip before the
    // rebalance decision, whatever the shard count (this member counts itself in whatever the list
    // says, so the heartbeat need not land first). Leases are asked every tick, even when this member
    // has its share: a coordinator that judges expiry by watching revisions (JetStream) must have
    // watched a dead member's leases for a TTL.
    const [, , listed, shards, leases] = await Promise.all([
      this.renew(),
      this.call("heartbeat", (c) => c.heartbeat(group, member, ttl)),
      this.call("members", (c) => c.members(group)),
      this.host.source.shardIds(),
      this.call("leases", (c) => c.leases(group)),
    ]);
    const members = [...listed];
    if (!members.includes(member)) members.push(member);
    members.sort();
    const index = members.indexOf(member);
    const target =
      Math.floor(shards.length / members.length) + (index < shards.length % members.length ? 1 : 0);
    const held = [...owned.values()].filter((shard) => !shard.gone && !shard.revoking);
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
          this.host.source.logger.warn({ group, member, shard, err: error }, "group: taking a shard failed");
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
      let held: boolean | undefined;
      try {
        held = await this.call("renew", (c) => c.renew(group, shard.shard, shard.token, ttl));
      } catch (error) {
        source.logger.warn({ group, shard: shard.shard, err: error }, "group: renew failed");
      }
      if (held === true) shard.renewedAt = sentAt;
      else if (held === false) this.host.lose(shard, "the lease was lost: renewal refused");
      else if (performance.now() - shard.renewedAt >= ttl)
        this.host.lose(shard, "the lease expired unrenewed");
    };
    await Promise.all([...owned.values()].filter((shard) => !shard.gone).map(renewOne));
  }
}
