import { AdapterShutdownError, FatalError } from "../contract/adapter-errors.js";
import type { GroupCoordinator } from "../contract/group.js";
import { compareIds } from "../contract/ids.js";

interface Lease {
  readonly member: string;
  readonly token: string;
  expiresAt: number;
}

/** One group's state: members with their expiry, leases, checkpoints. */
interface GroupState {
  readonly members: Map<string, number>;
  readonly leases: Map<number, Lease>;
  readonly checkpoints: Map<number, string>;
}

/**
 * @internal The consumer-group state of a `MemoryStore`: shared by every adapter over the store, so
 * several readers in one process form a group as processes would over a real backend.
 */
export class MemoryGroups {
  private readonly groups = new Map<string, GroupState>();

  /** @internal Clock, ms (monotonic). */
  now: () => number = () => performance.now();

  group(name: string): GroupState {
    let state = this.groups.get(name);
    if (state === undefined) {
      state = { members: new Map(), leases: new Map(), checkpoints: new Map() };
      this.groups.set(name, state);
    }
    return state;
  }

  /** The lease of `shard` when it is live, else undefined (an expired one is dropped). */
  live(state: GroupState, shard: number): Lease | undefined {
    const lease = state.leases.get(shard);
    if (lease === undefined) return undefined;
    if (lease.expiresAt <= this.now()) {
      state.leases.delete(shard);
      return undefined;
    }
    return lease;
  }
}

function checkTtl(ttlMs: number): void {
  if (!(Number.isFinite(ttlMs) && ttlMs > 0))
    throw new FatalError(`ttlMs must be a number > 0, got ${ttlMs}`);
}

/** A {@link GroupCoordinator} over a store's {@link MemoryGroups}, refusing calls once `ready()` is false. */
export function memoryCoordinator(groups: MemoryGroups, ready: () => boolean): GroupCoordinator {
  const open = (): void => {
    if (!ready()) throw new AdapterShutdownError("memory adapter is not initialised or has been shut down");
  };
  return {
    async heartbeat(group, member, ttlMs) {
      open();
      checkTtl(ttlMs);
      groups.group(group).members.set(member, groups.now() + ttlMs);
    },
    async leave(group, member) {
      open();
      groups.group(group).members.delete(member);
    },
    async members(group) {
      open();
      const state = groups.group(group);
      const now = groups.now();
      for (const [member, expiresAt] of state.members) if (expiresAt <= now) state.members.delete(member);
      return [...state.members.keys()].sort();
    },
    async leases(group) {
      open();
      const state = groups.group(group);
      const owners = new Map<number, string>();
      for (const shard of [...state.leases.keys()]) {
        const lease = groups.live(state, shard);
        if (lease !== undefined) owners.set(shard, lease.member);
      }
      return owners;
    },
    async acquire(group, shard, member, token, ttlMs) {
      open();
      checkTtl(ttlMs);
      const state = groups.group(group);
      const lease = groups.live(state, shard);
      if (lease !== undefined && lease.token !== token) return false;
      state.leases.set(shard, { member, token, expiresAt: groups.now() + ttlMs });
      return true;
    },
    async renew(group, shard, token, ttlMs) {
      open();
      checkTtl(ttlMs);
      const lease = groups.live(groups.group(group), shard);
      if (lease === undefined || lease.token !== token) return false;
      lease.expiresAt = groups.now() + ttlMs;
      return true;
    },
    async release(group, shard, token) {
      open();
      const state = groups.group(group);
      if (state.leases.get(shard)?.token === token) state.leases.delete(shard);
    },
    async readCheckpoint(group, shard) {
      open();
      return groups.group(group).checkpoints.get(shard);
    },
    async writeCheckpoint(group, shard, token, id) {
      open();
      const state = groups.group(group);
      const lease = groups.live(state, shard);
      if (lease === undefined || lease.token !== token) return false;
      const current = state.checkpoints.get(shard);
      if (current === undefined || compareIds(id, current) > 0) state.checkpoints.set(shard, id);
      return true;
    },
  };
}
