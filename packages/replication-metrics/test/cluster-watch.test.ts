import { describe, expect, it } from "vitest";
import { StreamClusterWatch } from "../src/jetstream/cluster-watch.js";
import type { PeerInfoLike, StreamInfoLike } from "../src/jetstream/stream-info.js";

const peer = (name: string, current = true, activeMs = 2, lag = 0): PeerInfoLike => ({
  name,
  current,
  active: activeMs * 1e6,
  lag,
});

function info(leader: string | undefined, peers: PeerInfoLike[], lastSeq = 0, extra = {}): StreamInfoLike {
  return {
    config: { num_replicas: 3 },
    state: { last_seq: lastSeq },
    cluster: { leader, replicas: peers, ...extra },
  };
}

describe("StreamClusterWatch", () => {
  it("counts leader changes once the new leader answers, and thrash within the window", () => {
    const watch = new StreamClusterWatch(30_000);
    const t0 = 1_000_000;
    expect(watch.observe(info("n1", [peer("n2"), peer("n3")]), t0)).toEqual({
      leaderChange: false,
      thrash: false,
      newlyUnhealthy: [],
      replicaLagMs: 0,
    });
    // The election: no leader yet. Nothing is concluded from a leaderless view.
    expect(watch.observe(info(undefined, []), t0 + 2_000)).toMatchObject({
      leaderChange: false,
      newlyUnhealthy: [],
    });
    const failover = watch.observe(info("n3", [peer("n2"), peer("n1", false, 8_831)]), t0 + 9_000);
    expect(failover).toEqual({
      leaderChange: true,
      thrash: false,
      newlyUnhealthy: ["n1"],
      replicaLagMs: 8_831,
    });
    // Still behind: counted once (edge), its lag keeps growing.
    expect(watch.observe(info("n3", [peer("n2"), peer("n1", false, 9_831)]), t0 + 10_000)).toEqual({
      leaderChange: false,
      thrash: false,
      newlyUnhealthy: [],
      replicaLagMs: 9_831,
    });
    expect(watch.observe(info("n3", [peer("n2"), peer("n1")]), t0 + 11_000).replicaLagMs).toBe(0);
    // The next change within 30 s of the previous one is thrash; one 30+ s later is not.
    expect(watch.observe(info("n2", [peer("n1"), peer("n3", false, 500)]), t0 + 25_000)).toMatchObject({
      leaderChange: true,
      thrash: true,
      newlyUnhealthy: ["n3"],
    });
    expect(watch.observe(info("n1", [peer("n2"), peer("n3")]), t0 + 56_000)).toMatchObject({
      leaderChange: true,
      thrash: false,
    });
  });

  it("uses leader_since: a new term of the same leader is a change, timed by the server", () => {
    const watch = new StreamClusterWatch(30_000);
    const since = (iso: string) => ({ leader_since: iso });
    const now = Date.parse("2025-01-01T00:01:00Z");
    // The first look already knows the election 20 s ago: a change 5 s later is thrash.
    watch.observe(info("n1", [peer("n2"), peer("n3")], 0, since("2025-01-01T00:00:40Z")), now);
    expect(
      watch.observe(info("n1", [peer("n2"), peer("n3")], 0, since("2025-01-01T00:00:40Z")), now + 1_000),
    ).toMatchObject({
      leaderChange: false,
    });
    expect(
      watch.observe(info("n1", [peer("n2"), peer("n3")], 0, since("2025-01-01T00:01:05Z")), now + 6_000),
    ).toMatchObject({
      leaderChange: true,
      thrash: true,
    });
  });

  it("counts missing peers as under capacity and turns pending operations into time", () => {
    const watch = new StreamClusterWatch(30_000);
    expect(watch.observe(info("n1", [peer("n2")], 1_000), 0)).toMatchObject({
      newlyUnhealthy: ["(missing peer 2)"],
      replicaLagMs: 0,
    });
    // 1,000 messages in the last second: a peer 500 operations behind is about 500 ms behind.
    const busy = watch.observe(info("n1", [peer("n2", true, 1, 500), peer("n3")], 2_000), 1_000);
    expect(busy.replicaLagMs).toBe(500);
    expect(busy.newlyUnhealthy).toEqual([]);
    // No writes since: the rate of the last busy spell still applies.
    expect(watch.observe(info("n1", [peer("n2", true, 1, 250), peer("n3")], 2_000), 2_000).replicaLagMs).toBe(
      250,
    );
  });

  it("has nothing to say about a stream outside a cluster", () => {
    const watch = new StreamClusterWatch(30_000);
    expect(watch.observe({ config: { num_replicas: 1 }, state: { last_seq: 5 } }, 0)).toMatchObject({
      leaderChange: false,
      replicaLagMs: undefined,
    });
  });
});
