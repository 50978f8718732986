import { FatalError, type GroupCoordinator, compareIds } from "@netmesh/core/adapter";
import { type BucketEntry, GroupBucket, type BucketHost } from "./group-bucket.js";

/** A shard's key: its holder (none when free), the holder's TTL, and the group's checkpoint. */
interface LeaseValue {
  readonly m: string | null;
  readonly t: string | null;
  readonly ttl: number;
  readonly c?: string;
}

/** A member's key: rewritten at each heartbeat; `left` after a clean leave. */
interface MemberValue {
  readonly ttl: number;
  readonly left?: true;
}

/** What this process wrote last to a lease it holds. */
interface Held {
  readonly token: string;
  revision: number;
  value: LeaseValue;
  /** Monotonic time just before the write that last renewed it was sent. */
  sentAt: number;
}

/** When this process first saw a key at its current revision (monotonic). */
interface Seen {
  readonly revision: number;
  readonly at: number;
}

function checkTtl(ttlMs: number): number {
  if (!(Number.isFinite(ttlMs) && ttlMs > 0))
    throw new FatalError(`jetstream: ttlMs must be a number > 0, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

/** A name as one subject token: base64url (`[A-Za-z0-9_-]`), so any printable name is a valid key. */
function token(name: string, field: string): string {
  if (typeof name !== "string" || !/^[\x21-\x7a\x7c\x7e]{1,200}$/.test(name))
    throw new FatalError(`jetstream: ${field} ${JSON.stringify(String(name).slice(0, 64))} is not usable`);
  return Buffer.from(name, "utf8").toString("base64url");
}

/**
 * A {@link GroupCoordinator} on a JetStream KV bucket (see {@link GroupBucket}): per group, one key per
 * shard (`{group}.lease.{shard}`: holder, token, TTL and the checkpoint, so a checkpoint is fenced by the
 * same compare-and-set as the lease) and one per member (`{group}.member.{member}`).
 *
 * Expiry without per-key TTL and without trusting clocks across machines, as Kinesis KCL does: a lease
 * (or member) is alive while its revision keeps changing. An observer notes, on its own monotonic
 * clock, when it first saw a key's current revision; once that revision stayed unchanged for the TTL
 * written in the value, the key is expired and the lease can be taken by a compare-and-set on that
 * revision (which fails if the holder renewed meanwhile). The holder counts its TTL from just before
 * it sent its last renewal, so it always gives up before any observer can take over, provided monotonic
 * clocks tick at the same rate (drift of ppm, not offsets, matters; no wall clock is read). An observer
 * that starts watching late waits a whole TTL from its first look: takeover is never early.
 */
export function jetstreamCoordinator(host: BucketHost): GroupCoordinator {
  const bucket = new GroupBucket(host);
  const held = new Map<string, Held>();
  const seen = new Map<string, Seen>();
  const leaseKey = (group: string, shard: number) => {
    if (!Number.isInteger(shard) || shard < 0) throw new FatalError(`jetstream: bad shard ${shard}`);
    return `${token(group, "group")}.lease.${shard}`;
  };
  const memberKey = (group: string, member: string) =>
    `${token(group, "group")}.member.${token(member, "member")}`;

  /** True when the key stayed at `revision` for `ttl` as this process saw it. */
  const stale = (key: string, revision: number, ttl: number): boolean => {
    const now = performance.now();
    const last = seen.get(key);
    if (last === undefined || last.revision !== revision) {
      seen.set(key, { revision, at: now });
      return false;
    }
    return now - last.at >= ttl;
  };

  /** The lease this process holds with `token`, unless its TTL ran out since the last renewal. */
  const mine = (key: string, token: string): Held | undefined => {
    const lease = held.get(key);
    if (lease === undefined || lease.token !== token) return undefined;
    if (performance.now() - lease.sentAt >= lease.value.ttl) {
      held.delete(key);
      return undefined;
    }
    return lease;
  };

  /** Per key, one write at a time: a renewal and a checkpoint of one lease never race each other. */
  const queues = new Map<string, Promise<unknown>>();
  const exclusive = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const run = (queues.get(key) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => {});
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return run;
  };

  /**
   * Applies `change` to the lease this process holds with `token` and writes it; a conflict re-reads
   * once, since a write of ours whose ack was lost moved the revision too (the change is then applied
   * to what is stored). False when the lease is not ours (any more).
   */
  const rewrite = (key: string, token: string, change: (value: LeaseValue) => LeaseValue, what: string) =>
    exclusive(key, async (): Promise<boolean> => {
      const lease = mine(key, token);
      if (lease === undefined) return false;
      const sentAt = performance.now();
      let value = change(lease.value);
      let revision = await bucket.put(key, value, what, lease.revision);
      if (revision === undefined) {
        const current = await bucket.get<LeaseValue>(key, what);
        if (current === undefined || current.value.t !== token) {
          held.delete(key);
          return false;
        }
        value = change(current.value);
        revision = await bucket.put(key, value, what, current.revision);
        if (revision === undefined) {
          held.delete(key);
          return false;
        }
      }
      lease.revision = revision;
      lease.value = value;
      lease.sentAt = sentAt;
      return true;
    });

  /**
   * Every key of a group with its value, in one listing plus pipelined gets. A listing under way is
   * shared: the members and leases calls of one rebalance tick, sent together, make one.
   */
  const snapshots = new Map<string, Promise<(readonly [string, BucketEntry<unknown>])[]>>();
  const snapshot = (group: string, what: string) => {
    const prefix = token(group, "group");
    const pending = snapshots.get(prefix);
    if (pending !== undefined) return pending;
    const entries = (async () => {
      const keys = await bucket.keys(`${prefix}.*.*`, what);
      const values = await Promise.all(keys.map((key) => bucket.get<unknown>(key, what)));
      return keys
        .map((key, i) => [key, values[i]] as const)
        .filter((pair): pair is readonly [string, BucketEntry<unknown>] => pair[1] !== undefined);
    })();
    snapshots.set(prefix, entries);
    const settled = () => {
      if (snapshots.get(prefix) === entries) snapshots.delete(prefix);
    };
    entries.then(settled, settled);
    return entries;
  };
  const listed = async <T>(group: string, kind: string, what: string) => {
    const marker = `.${kind}.`;
    return (await snapshot(group, what)).filter(([key]) => key.includes(marker)) as (readonly [
      string,
      BucketEntry<T>,
    ])[];
  };
  /** The lease entries the last listing read: an acquisition right after compares-and-sets on them. */
  const recent = new Map<string, BucketEntry<LeaseValue>>();

  return {
    async heartbeat(group, member, ttlMs) {
      const value: MemberValue = { ttl: checkTtl(ttlMs) };
      await bucket.put(memberKey(group, member), value, "heartbeat");
    },
    async leave(group, member) {
      const value: MemberValue = { ttl: 0, left: true };
      await bucket.put(memberKey(group, member), value, "leave");
    },
    async members(group) {
      const live: string[] = [];
      const dead: Promise<unknown>[] = [];
      for (const [key, entry] of await listed<MemberValue>(group, "member", "members")) {
        if (entry.value.left === true) continue;
        if (stale(key, entry.revision, entry.value.ttl)) {
          // Written down (compare-and-set on the revision judged stale), so that a member that starts
          // watching now does not count the dead one for a whole TTL; a heartbeat revives it.
          const gone: MemberValue = { ttl: 0, left: true };
          dead.push(bucket.put(key, gone, "members", entry.revision).catch(() => undefined));
          continue;
        }
        const name = key.slice(key.lastIndexOf(".") + 1);
        live.push(Buffer.from(name, "base64url").toString("utf8"));
      }
      await Promise.all(dead);
      return live.sort();
    },
    async leases(group) {
      const owners = new Map<number, string>();
      for (const [key, entry] of await listed<LeaseValue>(group, "lease", "leases")) {
        recent.set(key, entry);
        const { m, t, ttl } = entry.value;
        if (m === null || t === null) continue;
        const own = held.get(key);
        const alive = own?.token === t ? mine(key, t) !== undefined : !stale(key, entry.revision, ttl);
        if (alive) owners.set(Number(key.slice(key.lastIndexOf(".") + 1)), m);
      }
      return owners;
    },
    async acquire(group, shard, member, token, ttlMs) {
      const ttl = checkTtl(ttlMs);
      const key = leaseKey(group, shard);
      if (mine(key, token) !== undefined)
        return rewrite(key, token, (value) => ({ ...value, ttl }), "acquire");
      const takeable = (entry: BucketEntry<LeaseValue> | undefined) =>
        entry === undefined ||
        entry.value.t === null ||
        entry.value.t === token ||
        stale(key, entry.revision, entry.value.ttl);
      // A listed entry that showed the lease free or expired saves a read: if the key changed since,
      // the compare-and-set below fails. One that showed it held is read again (it may be free now).
      const listedEntry = recent.get(key);
      recent.delete(key);
      const current =
        listedEntry !== undefined && takeable(listedEntry)
          ? listedEntry
          : await bucket.get<LeaseValue>(key, "acquire");
      if (!takeable(current)) return false;
      const value: LeaseValue = {
        m: member,
        t: token,
        ttl,
        ...(current?.value.c ? { c: current.value.c } : {}),
      };
      const sentAt = performance.now();
      const revision = await bucket.put(key, value, "acquire", current?.revision ?? 0);
      if (revision === undefined) return false;
      held.set(key, { token, revision, value, sentAt });
      return true;
    },
    async renew(group, shard, token, ttlMs) {
      const ttl = checkTtl(ttlMs);
      const key = leaseKey(group, shard);
      return rewrite(key, token, (value) => ({ ...value, ttl }), "renew");
    },
    async release(group, shard, token) {
      const key = leaseKey(group, shard);
      await exclusive(key, async () => {
        const own = mine(key, token);
        if (own === undefined) return;
        held.delete(key);
        const value: LeaseValue = { m: null, t: null, ttl: 0, ...(own.value.c ? { c: own.value.c } : {}) };
        await bucket.put(key, value, "release", own.revision); // a conflict: it was not ours any more
      });
    },
    async readCheckpoint(group, shard) {
      const key = leaseKey(group, shard);
      // Held here: the value this process wrote last is the stored one (it holds the only pen).
      const own = held.get(key);
      if (own !== undefined && mine(key, own.token) !== undefined) return own.value.c;
      const entry = await bucket.get<LeaseValue>(key, "readCheckpoint");
      return entry?.value.c;
    },
    async writeCheckpoint(group, shard, token, id) {
      if (typeof id !== "string" || id.length === 0)
        throw new FatalError("jetstream: a checkpoint must be an entry id");
      // Written even when the position would not move: the write is what proves the lease still held.
      const forward = (value: LeaseValue): LeaseValue =>
        value.c !== undefined && compareIds(id, value.c) <= 0 ? value : { ...value, c: id };
      return rewrite(leaseKey(group, shard), token, forward, "checkpoint");
    },
  };
}
