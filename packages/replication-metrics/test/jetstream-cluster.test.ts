import { type JetStreamManager, RetentionPolicy, StorageType, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamReplicationProbe, ReplicationMetricsRegistry } from "../src/index.js";
import { type NatsCluster, startNatsCluster } from "./support/nats-cluster.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes to `subject` every 10 ms (plain publishes: during an election they are simply lost). */
function steadyPublishes(nc: NatsConnection, subject: string): { stop(): void } {
  const timer = setInterval(() => {
    if (!nc.isClosed()) nc.publish(subject, "tick");
  }, 10);
  return { stop: () => clearInterval(timer) };
}

/** Ticks `probe` every 200 ms until `done()` holds; how long it took, or a failure after `timeoutMs`. */
async function tickUntil(
  probe: JetStreamReplicationProbe,
  done: () => boolean,
  what: string,
  timeoutMs = 30_000,
) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    await probe.probeOnce();
    if (done()) return Date.now() - started;
    await sleep(200);
  }
  throw new Error(`${what}: not seen within ${timeoutMs} ms`);
}

describe("JetStreamReplicationProbe against a 3-node cluster", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const stream = "rm_shard_0";

  beforeAll(async () => {
    cluster = await startNatsCluster();
    nc = await cluster.connect();
    jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false });
    // JetStream answers once a meta leader is elected, which can be before it knows all three peers:
    // an R3 stream is then refused ("no suitable peers for placement") for a moment.
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await jsm.streams.add({
          name: stream,
          subjects: ["rm.shard.0"],
          num_replicas: 3,
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
        });
        break;
      } catch (error) {
        if (!/no suitable peers/.test(String(error)) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("counts a killed stream leader as a leader change, and a second kill within 30 s as thrash", async () => {
    const registry = new ReplicationMetricsRegistry();
    const probe = new JetStreamReplicationProbe({
      registry,
      connection: nc,
      prefix: "rm",
      shards: [0, 1], // shard 1 was never written: its stream does not exist, and that is no error
      callTimeoutMs: 1_000,
      intervalMs: 60_000,
    });
    const publishes = steadyPublishes(nc, "rm.shard.0");
    const row = () => registry.channel(stream)!;
    try {
      const first = await cluster.waitForLeader(stream);
      await probe.probeOnce();
      expect(row()).toMatchObject({
        leaderChangesTotal: 0n,
        electionThrashTotal: 0n,
        underCapacityTotal: 0n,
      });
      expect(row().replicaLagSeconds!).toBeLessThan(1);

      await cluster.node(first).server.kill();
      const firstElectionMs = await tickUntil(probe, () => row().leaderChangesTotal === 1n, "first failover");
      const firstChangeAt = Date.now();
      expect(row().electionThrashTotal).toBe(0n);
      // The dead node is a peer that is not current: under capacity, and a lag of its silence.
      await tickUntil(probe, () => row().underCapacityTotal >= 1n, "the dead peer behind");
      expect(row().replicaLagSeconds!).toBeGreaterThan(0.5);

      // Back to three nodes (two are needed for the next election), then kill the new leader.
      await cluster.node(first).server.start();
      const second = await cluster.waitForLeader(stream);
      await tickUntil(probe, () => row().replicaLagSeconds! < 1, "the restarted peer caught up");
      expect(row().leaderChangesTotal).toBe(1n);
      await cluster.node(second).server.kill();
      const secondElectionMs = await tickUntil(
        probe,
        () => row().leaderChangesTotal === 2n,
        "second failover",
      );
      const gapMs = Date.now() - firstChangeAt;
      console.log(
        `elections took ${firstElectionMs} and ${secondElectionMs} ms; the changes were ${gapMs} ms apart`,
      );
      expect(gapMs, "the two leader changes must be observed within 30 s for this test").toBeLessThan(30_000);
      expect(row().electionThrashTotal).toBe(1n);
      expect(row().underCapacityTotal).toBeGreaterThanOrEqual(2n);
      expect(registry.channel("rm_shard_1")).toMatchObject({
        leaderChangesTotal: 0n,
        replicaLagSeconds: undefined,
      });
      await cluster.node(second).server.start();
      await cluster.waitForLeader(stream);
      await probe.probeOnce();
      if (process.env.SHOW_SCRAPE) console.log(registry.renderPrometheus());
    } finally {
      publishes.stop();
      await probe.stop();
    }
  });
});
