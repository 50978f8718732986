import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Logger, RedisReplicationProbe, ReplicationMetricsRegistry } from "../src/index.js";
import { type RedisPair, infoField, startRedisPair } from "./support/redis-pair.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Appends to the shard streams every few ms until stopped: the replication stream never stands still. */
function steadyWrites(client: Redis, streams: readonly string[]): { stop(): Promise<number> } {
  let stopped = false;
  let written = 0;
  const loop = (async () => {
    while (!stopped) {
      await client.xadd(streams[written % streams.length]!, "*", "d", "x".repeat(200));
      written++;
      await sleep(5);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return written;
    },
  };
}

const warnings: { fields: Record<string, unknown>; message: string }[] = [];
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (fields, message) => warnings.push({ fields, message }),
  error: (fields, message) => warnings.push({ fields, message }),
};

describe("RedisReplicationProbe against a real master and replica", () => {
  let pair: RedisPair;
  let registry: ReplicationMetricsRegistry;
  let probe: RedisReplicationProbe;
  let master: Redis;
  const streams = ["{rm:shard:0}", "{rm:shard:1}"];
  const row = () => registry.channel(streams[0]!)!;

  beforeAll(async () => {
    pair = await startRedisPair();
    master = pair.client(pair.master);
    registry = new ReplicationMetricsRegistry();
    probe = new RedisReplicationProbe({
      registry,
      master,
      // An address: the probe opens (and at stop closes) its own connection to the replica.
      replicas: [{ host: "127.0.0.1", port: pair.replica.port }],
      prefix: "rm",
      shards: 2,
      callTimeoutMs: 300,
      intervalMs: 60_000, // the test drives the ticks
      writeCheck: { key: "netmesh:replication-probe" },
      logger,
    });
  });

  afterAll(async () => {
    await probe?.stop();
    await pair?.stop();
  });

  it("sees the replica's lag grow while it is stopped and fall back once it runs again", async () => {
    const writes = steadyWrites(pair.client(pair.master), streams);
    try {
      await probe.probeOnce();
      await sleep(200);
      await probe.probeOnce();
      const healthy = row();
      expect(healthy.replicaLagSeconds).toBeDefined();
      expect(healthy.replicaLagSeconds!).toBeLessThan(0.25);
      expect(healthy.leaderLagSeconds!).toBeLessThan(0.25); // SET + WAIT answered at once
      const syncedBefore = registry.totals().sync_bytes_total;

      await pair.replica.pause(); // returns once /proc shows the process stopped
      const pausedAt = Date.now();
      const lags: number[] = [];
      while (Date.now() - pausedAt < 2_200) {
        await probe.probeOnce();
        lags.push(row().replicaLagSeconds!);
        await sleep(100);
      }
      const stoppedFor = (Date.now() - pausedAt) / 1_000;
      if (process.env.SHOW_SCRAPE)
        console.log(`replica lag while stopped for ${stoppedFor} s: ${lags.join(", ")}`);
      expect(lags.at(-1)!).toBeGreaterThan(1.5);
      expect(lags.at(-1)!).toBeLessThan(stoppedFor + 1.5); // at most the 1 s ack period more
      expect(lags.at(-1)!).toBeGreaterThan(lags[0]!);
      // WAIT gave up after its 300 ms: the write was not acknowledged.
      expect(row().leaderLagSeconds!).toBeGreaterThanOrEqual(0.29);
      // The replica's INFO timed out; that went to the logger, under err, never to the caller.
      expect(warnings.some((w) => (w.fields.err as Error | undefined)?.name === "ProbeTimeoutError")).toBe(
        true,
      );
      expect(warnings.some((w) => w.fields.target === `127.0.0.1:${pair.replica.port}`)).toBe(true);

      pair.replica.resume();
      const resumedAt = Date.now();
      let lag = Number.POSITIVE_INFINITY;
      while (Date.now() - resumedAt < 10_000) {
        await probe.probeOnce();
        lag = row().replicaLagSeconds!;
        if (lag < 0.25 && row().leaderLagSeconds! < 0.25) break;
        await sleep(100);
      }
      expect(lag).toBeLessThan(0.25);
      expect(row().leaderLagSeconds!).toBeLessThan(0.25);
      // What was written during the pause was shipped to the replica once it ran again.
      expect(registry.totals().sync_bytes_total).toBeGreaterThan(syncedBefore);
    } finally {
      pair.replica.resume();
      await writes.stop();
    }
    // Server-level figures go to every shard's channel alike; the sync bytes are split, not copied.
    const [a, b] = streams.map((s) => registry.channel(s)!);
    expect(a!.replicaLagMicros).toBe(b!.replicaLagMicros);
    const diff = a!.syncBytesTotal - b!.syncBytesTotal;
    expect(diff === 0n || diff === 1n).toBe(true);
    expect(registry.totals().sync_bytes_total).toBe(a!.syncBytesTotal + b!.syncBytesTotal);
    expect(registry.totals().leader_changes_total).toBe(0n);
  });

  it("counts promoting the replica (REPLICAOF NO ONE) as one leader change", async () => {
    await pair.waitInSync();
    await probe.probeOnce();
    const before = row();
    expect(before.leaderChangesTotal).toBe(0n);

    const replica = pair.client(pair.replica);
    await replica.call("REPLICAOF", "NO", "ONE");
    expect(infoField(await replica.info("replication"), "role")).toBe("master");
    await probe.probeOnce();
    for (const stream of streams) {
      expect(registry.channel(stream)).toMatchObject({ leaderChangesTotal: 1n, electionThrashTotal: 0n });
    }
    // More ticks see the same two histories: no further change.
    await probe.probeOnce();
    await probe.probeOnce();
    expect(row().leaderChangesTotal).toBe(1n);
    // The old master lost its only replica: under capacity, once.
    expect(row().underCapacityTotal).toBe(1n);

    // Following the old master again is not a new leader; a second promotion within 30 s is thrash.
    await replica.call("REPLICAOF", "127.0.0.1", String(pair.master.port));
    await pair.waitInSync();
    await probe.probeOnce();
    expect(row().leaderChangesTotal).toBe(1n);
    await replica.call("REPLICAOF", "NO", "ONE");
    await probe.probeOnce();
    expect(row()).toMatchObject({ leaderChangesTotal: 2n, electionThrashTotal: 1n });
  });

  it("ticks on its own timer and closes the connections it opened at stop", async () => {
    const replicaAdmin = pair.client(pair.replica);
    const own = () =>
      replicaAdmin.call("CLIENT", "LIST").then(
        (list) =>
          String(list)
            .split("\n")
            .filter((l) => l.includes("name=netmesh-replication-probe")).length,
      );
    const others = await own(); // the other tests' probe has one too
    const timed = new RedisReplicationProbe({
      registry: new ReplicationMetricsRegistry(),
      master,
      replicas: [{ host: "127.0.0.1", port: pair.replica.port }],
      streams: ["timed"],
      intervalMs: 20,
      callTimeoutMs: 500,
    }).start();
    const started = Date.now();
    while (timed.ticks < 4 && Date.now() - started < 5_000) await sleep(20);
    expect(timed.ticks).toBeGreaterThanOrEqual(4);
    expect(await own()).toBe(others + 1);
    await timed.stop();
    const stoppedAt = timed.ticks;
    await sleep(100);
    expect(timed.ticks).toBe(stoppedAt);
    const deadline = Date.now() + 2_000;
    while ((await own()) > others && Date.now() < deadline) await sleep(20);
    expect(await own()).toBe(others);
    expect(await master.ping()).toBe("PONG"); // the caller's client stays open
  });

  it("prints the live figures in the crate's text format", () => {
    const text = registry.renderPrometheus();
    expect(text).toMatch(
      /^dataforts_replication_lag_seconds\{channel="\{rm:shard:0\}",role="replica"\} [\d.]+$/m,
    );
    expect(text).toContain('dataforts_leader_changes_total{channel="{rm:shard:1}"} 2\n');
    if (process.env.SHOW_SCRAPE) console.log(text);
  });
});
