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
  private readonly watchers = new Map<string, Set<() => void>>();
  /** Groups with a change not yet reported (one report per turn of the event loop). */
  private readonly dirty = new Set<string>();

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
  live(name: string, state: GroupState, shard: number): Lease | undefined {
    const lease = state.leases.get(shard);
    if (lease === undefined) return undefined;
    if (lease.expiresAt <= this.now()) {
      state.leases.delete(shard);
      this.changed(name);
      return undefined;
    }
    return lease;
  }

  /** Calls `listener` after each change of `group` (see `GroupCoordinator.watch`) until undone. */
  watch(group: string, listener: () => void): () => void {
    let set = this.watchers.get(group);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(group, set);
    }
    const entry = () => listener();
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.watchers.get(group) === set) this.watchers.delete(group);
    };
  }

  /** A member joined or left, or a lease changed holder: the watchers hear of it on the next turn. */
  changed(group: string): void {
    if (!this.watchers.has(group) || this.dirty.has(group)) return;
    this.dirty.add(group);
    setImmediate(() => {
      this.dirty.delete(group);
      for (const listener of [...(this.watchers.get(group) ?? [])]) listener();
    });
  }
}

function checkTtl(ttlMs: number): void {
  if (!(Number.isFinite(ttlMs) && ttlMs > 0))
    throw new FatalError(`ttlMs must be a number > 0, got ${ttlMs}`);
}

/** Moves the checkpoint of `shard` to `id` unless that would move it back. */
function forward(state: GroupState, shard: number, id: string): void {
  const current = state.checkpoints.get(shard);
  if (current === undefined || compareIds(id, current) > 0) state.checkpoints.set(shard, id);
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
      const members = groups.group(group).members;
      const known = (members.get(member) ?? Number.NEGATIVE_INFINITY) > groups.now();
      members.set(member, groups.now() + ttlMs);
      if (!known) groups.changed(group);
    },
    async leave(group, member) {
      open();
      if (groups.group(group).members.delete(member)) groups.changed(group);
    },
    async members(group) {
      open();
      const state = groups.group(group);
      const now = groups.now();
      for (const [member, expiresAt] of state.members) {
        if (expiresAt > now) continue;
        state.members.delete(member);
        groups.changed(group);
      }
      return [...state.members.keys()].sort();
    },
    async leases(group) {
      open();
      const state = groups.group(group);
      const owners = new Map<number, string>();
      for (const shard of [...state.leases.keys()]) {
        const lease = groups.live(group, state, shard);
        if (lease !== undefined) owners.set(shard, lease.member);
      }
      return owners;
    },
    async acquire(group, shard, member, token, ttlMs) {
      open();
      checkTtl(ttlMs);
      const state = groups.group(group);
      const lease = groups.live(group, state, shard);
      if (lease !== undefined && lease.token !== token) return false;
      state.leases.set(shard, { member, token, expiresAt: groups.now() + ttlMs });
      if (lease === undefined) groups.changed(group);
      return true;
    },
    async renew(group, shard, token, ttlMs) {
      open();
      checkTtl(ttlMs);
      const lease = groups.live(group, groups.group(group), shard);
      if (lease === undefined || lease.token !== token) return false;
      lease.expiresAt = groups.now() + ttlMs;
      return true;
    },
    async release(group, shard, token, checkpoint) {
      open();
      const state = groups.group(group);
      if (groups.live(group, state, shard)?.token !== token) return;
      if (checkpoint !== undefined) forward(state, shard, checkpoint);
      state.leases.delete(shard);
      groups.changed(group);
    },
    async readCheckpoint(group, shard) {
      open();
      return groups.group(group).checkpoints.get(shard);
    },
    async writeCheckpoint(group, shard, token, id) {
      open();
      const state = groups.group(group);
      const lease = groups.live(group, state, shard);
      if (lease === undefined || lease.token !== token) return false;
      forward(state, shard, id);
      return true;
    },
    watch(group, listener) {
      return groups.watch(group, listener);
    },
  };
}
