import { ElectionClock } from "../probe/elections.js";
import type { PeerInfoLike, StreamInfoLike } from "./stream-info.js";

/** What one stream info says happened since the previous one. */
export interface ClusterObservation {
  /** The stream has another leader than at the previous observation (or a new term of the same one). */
  readonly leaderChange: boolean;
  /** That change came within the thrash window of the previous one. */
  readonly thrash: boolean;
  /** Peers that were healthy (or unknown) before and are now not current, offline or missing. */
  readonly newlyUnhealthy: readonly string[];
  /** The worst peer's lag in ms; `undefined` when there is nothing to tell (no leader, no peers). */
  readonly replicaLagMs: number | undefined;
}

const NOTHING: ClusterObservation = Object.freeze({
  leaderChange: false,
  thrash: false,
  newlyUnhealthy: Object.freeze([]),
  replicaLagMs: undefined,
});

/**
 * Follows one replicated stream through its successive stream infos: leader changes, peers falling
 * behind, and how far behind the worst peer is. Pure (no I/O), so every rule is unit-tested.
 *
 * Changes between two observations coalesce: A → B → C is one change, and A → B → A is none unless
 * the server reports `leader_since` (nats-server 2.10+), which tells a new term of the same leader.
 */
export class StreamClusterWatch {
  readonly #elections: ElectionClock;
  #leader: string | undefined;
  #leaderSince: string | undefined;
  #unhealthy = new Set<string>();
  #lastSeq: number | undefined;
  #lastSeqAt = 0;
  /** Messages per second while the stream was last written: turns a peer's operations behind into time. */
  #rate = 0;

  /** `thrashWindowMs`: a change within it of the previous one is thrash. */
  constructor(thrashWindowMs: number) {
    this.#elections = new ElectionClock(thrashWindowMs);
  }

  /** Takes the stream info read at `now` (ms since the epoch). */
  observe(info: StreamInfoLike, now: number): ClusterObservation {
    this.#trackRate(info.state?.last_seq, now);
    const cluster = info.cluster;
    const leader = cluster?.leader || undefined;
    // Without a leader (an election in progress) the peer list says nothing reliable: wait for one.
    if (cluster === undefined || leader === undefined) return NOTHING;
    const since = cluster.leader_since || undefined;
    let leaderChange = false;
    let thrash = false;
    if (this.#leader === undefined) {
      // The first look: an election time the server reports still counts as the previous election.
      const at = since === undefined ? Number.NaN : Date.parse(since);
      if (Number.isFinite(at)) this.#elections.change(at);
    } else if (
      leader !== this.#leader ||
      (since !== undefined && this.#leaderSince !== undefined && since !== this.#leaderSince)
    ) {
      leaderChange = true;
      const at = since === undefined ? Number.NaN : Date.parse(since);
      thrash = this.#elections.change(Number.isFinite(at) ? at : now);
    }
    this.#leader = leader;
    this.#leaderSince = since;

    const peers = cluster.replicas ?? [];
    const unhealthy = peers.filter((peer) => !peer.current || peer.offline === true).map((peer) => peer.name);
    const expectedPeers = Math.max(0, (info.config?.num_replicas ?? peers.length + 1) - 1);
    for (let i = peers.length; i < expectedPeers; i++) unhealthy.push(`(missing peer ${i + 1})`);
    const newlyUnhealthy = unhealthy.filter((name) => !this.#unhealthy.has(name));
    this.#unhealthy = new Set(unhealthy);

    let replicaLagMs: number | undefined;
    for (const peer of peers) replicaLagMs = Math.max(replicaLagMs ?? 0, this.#peerLagMs(peer));
    return { leaderChange, thrash, newlyUnhealthy, replicaLagMs };
  }

  #trackRate(lastSeq: number | undefined, now: number): void {
    if (typeof lastSeq !== "number" || !Number.isFinite(lastSeq)) return;
    if (this.#lastSeq !== undefined && lastSeq > this.#lastSeq && now > this.#lastSeqAt) {
      this.#rate = ((lastSeq - this.#lastSeq) * 1_000) / (now - this.#lastSeqAt);
    }
    // An idle spell keeps the last rate: "no writes" would make any backlog look infinitely long.
    this.#lastSeq = lastSeq;
    this.#lastSeqAt = now;
  }

  /**
   * A peer's lag in ms. A current peer with nothing pending: 0. Operations pending: their count over
   * the write rate. A peer not current or offline: at least the time since the leader heard from it.
   */
  #peerLagMs(peer: PeerInfoLike): number {
    const silentMs = Number.isFinite(peer.active) && peer.active > 0 ? peer.active / 1e6 : 0;
    const pending = typeof peer.lag === "number" && peer.lag > 0 ? peer.lag : 0;
    const backlogMs = pending > 0 && this.#rate > 0 ? (pending * 1_000) / this.#rate : undefined;
    if (!peer.current || peer.offline === true) return Math.max(silentMs, backlogMs ?? 0);
    if (pending === 0) return 0;
    return backlogMs ?? silentMs;
  }
}
