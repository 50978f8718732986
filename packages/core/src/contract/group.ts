/**
 * The optional coordination hook of the adapter contract: what consumer groups need from a backend so
 * that members in different processes split the shards between them. An adapter offers it with
 * {@link GroupCoordinator} from `Adapter.coordination()`; its absence means "no consumer groups".
 *
 * Every method is async, bounded (settles within the adapter's own command timeout) and rejects only
 * with an `AdapterError` subclass. A lost lease is not an error: it is the `false` of the call.
 *
 * Expiry may be judged by the backend's clock (Redis) or by watching renewals (JetStream: a key whose
 * revision stayed unchanged for its TTL, on this process's monotonic clock). In the second case a
 * coordinator that just started may count a dead member or lease as live for up to one TTL; none may
 * ever count a live one as expired, nor let a holder renew or checkpoint once its lease was taken.
 * Members call one coordinator object for their whole life (an adapter returns the same one).
 *
 * `members` and `leases` may answer from a copy the coordinator keeps by following the backend
 * (JetStream): a write of another process then shows once it arrived (milliseconds on a network), a
 * write of its own at once. Nothing depends on them being current: every lease change is a
 * compare-and-set in the backend, so a stale view costs a refused `acquire`, never a second holder.
 */
export interface GroupCoordinator {
  /**
   * Records that `member` of `group` is alive for `ttlMs` from now (a member that stops calling it
   * drops out of {@link GroupCoordinator.members} once its TTL ran out).
   */
  heartbeat(group: string, member: string, ttlMs: number): Promise<void>;
  /** Removes `member` from the group at once (a clean leave). */
  leave(group: string, member: string): Promise<void>;
  /** The live members of `group` (heartbeat not expired), sorted by code unit order. */
  members(group: string): Promise<readonly string[]>;
  /** The live (unexpired) leases of `group`: shard id → the member holding it. */
  leases(group: string): Promise<ReadonlyMap<number, string>>;
  /**
   * Takes the lease of `shard` for `member` with the owner `token` for `ttlMs`, when it is free or
   * expired (compare-and-set); renews it when `token` already holds it. True when `token` holds it now.
   */
  acquire(group: string, shard: number, member: string, token: string, ttlMs: number): Promise<boolean>;
  /** Extends the lease held by `token` to `ttlMs` from now. False (and no change) when `token` lost it. */
  renew(group: string, shard: number, token: string, ttlMs: number): Promise<boolean>;
  /**
   * Gives the lease up if `token` holds it (a no-op otherwise). With `checkpoint`, the group's position
   * in `shard` moves to it first, as {@link GroupCoordinator.writeCheckpoint} would, in the same atomic
   * step: a successor that takes the lease reads that position (a handover costs one call).
   *
   * A member also releases (without `checkpoint`) a lease it gave up by its own clock (a TTL without
   * a confirmed renewal: it fenced itself, and writes nothing else for that lease). A coordinator that
   * judges expiry later than the member (JetStream's observers count from when they saw the last
   * renewal) must still free the lease when the backend stores it as `token`'s, so the next member
   * need not wait; a position is only written under a lease the coordinator counts as held.
   */
  release(group: string, shard: number, token: string, checkpoint?: string): Promise<void>;
  /** The group's position in `shard`: the id of the last entry processed, `undefined` for none yet. */
  readCheckpoint(group: string, shard: number): Promise<string | undefined>;
  /**
   * Moves the group's position in `shard` to `id` if `token` holds the lease. Monotonic: a position
   * is never moved back (an `id` not after the stored one by `compareIds` leaves it as it is). True
   * when `token` holds the lease (whether or not the position moved), false when the lease was lost.
   */
  writeCheckpoint(group: string, shard: number, token: string, id: string): Promise<boolean>;
  /**
   * Optional: calls `listener` soon after the membership of `group` changed (a member joined, left or
   * was judged dead) or one of its leases changed holder (taken, released, taken over), until the
   * returned function is called. Members then rebalance at once rather than at their next tick, so
   * the chain of a join or a leave does not wait out timer periods. A change made after the first
   * `members` or `leases` call that followed `watch` is reported; beyond that it is best effort (a
   * change lost with a connection goes unreported, the members' ticks still rebalance), and a call may
   * report none. Renewals, heartbeats and checkpoints are not changes. `listener` does not throw; it
   * is called outside any caller's stack.
   */
  watch?(group: string, listener: () => void): () => void;
}
