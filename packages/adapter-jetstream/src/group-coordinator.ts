import { FatalError, type GroupCoordinator, compareIds } from "@netmesh/core/adapter";
import { type BucketHost, GroupBucket } from "./group-bucket.js";
import { type ChangeTest, GroupMirror, type Observed } from "./group-mirror.js";

/** A shard's key: its holder (none when free), the holder's TTL, and the group's checkpoint. */
interface LeaseValue {
  readonly m: string | null;
  readonly t: string | null;
  readonly ttl: number;
  readonly c?: string;
}

/**
 * A member's key: rewritten at each heartbeat; `left` after a clean leave or once judged dead, when
 * `ttl` is how long the marker lingers before it is purged.
 */
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

function checkId(id: string): void {
  if (typeof id !== "string" || id.length === 0)
    throw new FatalError("jetstream: a checkpoint must be an entry id");
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

/** A {@link GroupCoordinator} that follows the groups it was asked about until {@link stop}. */
export interface JetStreamCoordinator extends GroupCoordinator {
  /** Stops following the groups' keys (the adapter shuts down); a later call follows them anew. */
  stop(): void;
}

/** How long a left marker stays when the leaver's TTL is not known here, ms. */
const DEFAULT_LINGER_MS = 10_000;

/** The kind of a group key (`{group}.{kind}.{name}`). */
function kindOf(key: string): string {
  const first = key.indexOf(".");
  return key.slice(first + 1, key.indexOf(".", first + 1));
}

/** True when `entry` stayed at its revision for `ttl` as this process saw it. */
function stale(entry: Observed, ttl: number): boolean {
  return performance.now() - entry.since >= ttl;
}

/** Whether a member key names a live member (not left, and not judged dead here). */
function liveMember(entry: Observed | undefined): boolean {
  if (entry === undefined) return false;
  const value = entry.value as MemberValue;
  return value.left !== true && !stale(entry, value.ttl);
}

/** The token holding a lease key as seen here (null when free or judged expired). */
function holderOf(entry: Observed | undefined): string | null {
  if (entry === undefined) return null;
  const value = entry.value as LeaseValue;
  return value.t === null || stale(entry, value.ttl) ? null : value.t;
}

/** What the members act on changed: the membership, or a lease's holder. */
const changed: ChangeTest = (key, before, after) =>
  kindOf(key) === "member" ? liveMember(before) !== liveMember(after) : holderOf(before) !== holderOf(after);

/** `c` moved to `id` unless that would move it back. */
function forward(c: string | undefined, id: string | undefined): string | undefined {
  if (id === undefined) return c;
  return c !== undefined && compareIds(id, c) <= 0 ? c : id;
}

/**
 * A {@link GroupCoordinator} on a JetStream KV bucket (see {@link GroupBucket}): per group, one key per
 * shard (`{group}.lease.{shard}`: holder, token, TTL and the checkpoint, so a checkpoint is fenced by the
 * same compare-and-set as the lease) and one per member (`{group}.member.{member}`). Each group asked
 * about is followed in a {@link GroupMirror}: members and leases are read from it without a round trip,
 * and `watch` reports a join, a leave or a lease changing holder as soon as the write arrives.
 *
 * Expiry without per-key TTL and without trusting clocks across machines, as Kinesis KCL does: a lease
 * (or member) is alive while its revision keeps changing. An observer notes, on its own monotonic
 * clock, when it first saw a key's current revision; once that revision stayed unchanged for the TTL
 * written in the value, the key is expired and the lease can be taken by a compare-and-set on that
 * revision (which fails if the holder renewed meanwhile). The holder counts its TTL from just before
 * it sent its last renewal, so it always gives up before any observer can take over, provided monotonic
 * clocks tick at the same rate (drift of ppm, not offsets, matters; no wall clock is read). An observer
 * that starts watching late waits a whole TTL from its first look: takeover is never early.
 *
 * A member judged dead is written down as left (a compare-and-set on the revision judged stale), so
 * that members that started watching later stop counting it at once. A left member's key lingers for
 * that member's TTL as each observer sees it (long enough for every follower to have read it), then
 * is purged, so the bucket holds the keys of live members and of the shards only.
 */
export function jetstreamCoordinator(host: BucketHost): JetStreamCoordinator {
  const bucket = new GroupBucket(host);
  const held = new Map<string, Held>();
  const mirrors = new Map<string, GroupMirror>();
  /** The TTL each member of this process heartbeats with: its left marker lingers as long. */
  const ttls = new Map<string, number>();
  /** Per key, the revision a removal (a dead member written down, a left one purged) was sent for. */
  const removing = new Map<string, number>();
  const leaseKey = (group: string, shard: number) => {
    if (!Number.isInteger(shard) || shard < 0) throw new FatalError(`jetstream: bad shard ${shard}`);
    return `${token(group, "group")}.lease.${shard}`;
  };
  const memberKey = (group: string, member: string) =>
    `${token(group, "group")}.member.${token(member, "member")}`;
  const mirrorOf = (group: string): GroupMirror => {
    const prefix = token(group, "group");
    let mirror = mirrors.get(prefix);
    if (mirror === undefined) {
      mirror = new GroupMirror(bucket, prefix, changed);
      mirrors.set(prefix, mirror);
    }
    return mirror;
  };

  /** Shows a write (or read) of this process in its group's mirror, if it follows that group. */
  const learn = <T>(key: string, value: T, revision: number): void => {
    mirrors.get(key.slice(0, key.indexOf(".")))?.learn(key, { value, revision }, true);
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
   * to what is stored). False when the lease is not ours (any more). `release` gives it up once written.
   */
  const rewrite = (
    key: string,
    token: string,
    change: (value: LeaseValue) => LeaseValue,
    what: string,
    release = false,
  ) =>
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
      learn(key, value, revision);
      if (release) {
        held.delete(key);
        return true;
      }
      lease.revision = revision;
      lease.value = value;
      lease.sentAt = sentAt;
      return true;
    });

  /** Sends the removal of `key` at `revision` once; errors are left to the next look. */
  const remove = (key: string, revision: number, work: () => Promise<void>): void => {
    if (removing.get(key) === revision) return;
    removing.set(key, revision);
    void work().catch(() => {
      if (removing.get(key) === revision) removing.delete(key);
    });
  };

  /** A member judged dead: written down as left, on the revision judged stale. */
  const bury = (mirror: GroupMirror, key: string, entry: Observed) =>
    remove(key, entry.revision, async () => {
      const gone: MemberValue = { ttl: (entry.value as MemberValue).ttl, left: true };
      const revision = await bucket.put(key, gone, "members", entry.revision);
      if (revision !== undefined) {
        learn(key, gone, revision);
        return;
      }
      // Refused: the member came back (the follow brings its heartbeat), or its key was purged while
      // this process was not following (then nothing will come: forget it here).
      if ((await bucket.get(key, "members")) === undefined) mirror.forget(key, entry.revision);
    });

  /** A left member's key that lingered for its TTL: purged (unless it was written again since). */
  const compact = (mirror: GroupMirror, key: string, entry: Observed) =>
    remove(key, entry.revision, async () => {
      await bucket.purge(key, entry.revision, "members");
      mirror.forget(key, entry.revision);
      if (removing.get(key) === entry.revision) removing.delete(key);
    });

  return {
    async heartbeat(group, member, ttlMs) {
      const ttl = checkTtl(ttlMs);
      const key = memberKey(group, member);
      ttls.set(key, ttl);
      const value: MemberValue = { ttl };
      learn(key, value, (await bucket.put(key, value, "heartbeat"))!);
    },
    async leave(group, member) {
      const key = memberKey(group, member);
      const value: MemberValue = { ttl: ttls.get(key) ?? DEFAULT_LINGER_MS, left: true };
      ttls.delete(key);
      learn(key, value, (await bucket.put(key, value, "leave"))!);
    },
    async members(group) {
      const mirror = mirrorOf(group);
      const live: string[] = [];
      for (const [key, entry] of await mirror.read()) {
        if (kindOf(key) !== "member") continue;
        const value = entry.value as MemberValue;
        if (value.left === true) {
          if (stale(entry, value.ttl)) compact(mirror, key, entry);
          continue;
        }
        if (stale(entry, value.ttl)) {
          bury(mirror, key, entry);
          continue;
        }
        const name = key.slice(key.lastIndexOf(".") + 1);
        live.push(Buffer.from(name, "base64url").toString("utf8"));
      }
      return live.sort();
    },
    async leases(group) {
      const owners = new Map<number, string>();
      for (const [key, entry] of await mirrorOf(group).read()) {
        if (kindOf(key) !== "lease") continue;
        const { m, t } = entry.value as LeaseValue;
        if (m === null || t === null) continue;
        const own = held.get(key);
        const alive = own?.token === t ? mine(key, t) !== undefined : holderOf(entry) !== null;
        if (alive) owners.set(Number(key.slice(key.lastIndexOf(".") + 1)), m);
      }
      return owners;
    },
    async acquire(group, shard, member, token, ttlMs) {
      const ttl = checkTtl(ttlMs);
      const key = leaseKey(group, shard);
      if (mine(key, token) !== undefined)
        return rewrite(key, token, (value) => ({ ...value, ttl }), "acquire");
      // What the mirror shows is compared-and-set on: if the key changed since, the write is refused.
      // A lease it shows held is read again: its release may not have arrived yet.
      const mirror = mirrorOf(group);
      const takeable = (entry: Observed | undefined) =>
        entry === undefined || (entry.value as LeaseValue).t === token || holderOf(entry) === null;
      let current = (await mirror.read()).get(key) as Observed<LeaseValue> | undefined;
      if (!takeable(current)) {
        const stored = await bucket.get<LeaseValue>(key, "acquire");
        current = stored === undefined ? undefined : mirror.learn(key, stored);
        if (!takeable(current)) return false;
      }
      const value: LeaseValue = {
        m: member,
        t: token,
        ttl,
        ...(current?.value.c ? { c: current.value.c } : {}),
      };
      const sentAt = performance.now();
      const revision = await bucket.put(key, value, "acquire", current?.revision ?? 0);
      if (revision === undefined) return false;
      learn(key, value, revision);
      held.set(key, { token, revision, value, sentAt });
      return true;
    },
    async renew(group, shard, token, ttlMs) {
      const ttl = checkTtl(ttlMs);
      const key = leaseKey(group, shard);
      return rewrite(key, token, (value) => ({ ...value, ttl }), "renew");
    },
    async release(group, shard, token, checkpoint) {
      if (checkpoint !== undefined) checkId(checkpoint);
      const free = (value: LeaseValue): LeaseValue => {
        const c = forward(value.c, checkpoint);
        return { m: null, t: null, ttl: 0, ...(c === undefined ? {} : { c }) };
      };
      const key = leaseKey(group, shard);
      if ((await rewrite(key, token, free, "release", true)) || checkpoint !== undefined) return;
      // Not held by this process's clock any more (a member that fenced itself), yet maybe still
      // stored as `token`'s: an observer that saw its last write late counts it live for up to a TTL.
      // Freed by a compare-and-set on the revision read (a takeover since makes it a no-op), so the
      // next member takes the shard now. A position is only ever written under a lease held here.
      await exclusive(key, async () => {
        const current = await bucket.get<LeaseValue>(key, "release");
        if (current === undefined || current.value.t !== token) return;
        const value = free(current.value);
        const revision = await bucket.put(key, value, "release", current.revision);
        if (revision !== undefined) learn(key, value, revision);
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
      checkId(id);
      // Written even when the position would not move: the write is what proves the lease still held.
      const move = (value: LeaseValue): LeaseValue => {
        const c = forward(value.c, id);
        return c === value.c || c === undefined ? value : { ...value, c };
      };
      return rewrite(leaseKey(group, shard), token, move, "checkpoint");
    },
    watch(group, listener) {
      return mirrorOf(group).watch(listener);
    },
    stop() {
      for (const mirror of mirrors.values()) mirror.stop();
      mirrors.clear();
    },
  };
}
