import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { JetStreamAdapter } from "@netmesh/adapter-jetstream";
import { type EventBus, type Logger, createBus } from "@netmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  JetStreamReplicationProbe,
  ReplicationMetricsRegistry,
  registerReplicationMetrics,
} from "../src/index.js";
import { type NatsCluster, startNatsCluster } from "./support/nats-cluster.js";
import { Registry } from "prom-client";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps the bus's warnings and errors, to show what happened when a check fails. */
function keepingLogger(lines: string[]): Logger {
  const keep = (level: string) => (fields: Record<string, unknown>, message: string) => {
    const err = fields.err instanceof Error ? ` (${fields.err.name}: ${fields.err.message})` : "";
    lines.push(`${level}: ${message}${err} ${JSON.stringify({ ...fields, err: undefined })}`);
  };
  return { debug: () => {}, info: () => {}, warn: keep("warn"), error: keep("error") };
}

/** Every stored event of `shard`, paging with `nextId`. */
async function readShard(adapter: JetStreamAdapter, shard: number) {
  const events: { json: string; messageId: string | undefined }[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const result = await adapter.pollShard(shard, cursor, 1_000);
    for (const event of result.events) events.push({ json: event.json, messageId: event.messageId });
    if (result.nextId !== undefined) cursor = result.nextId;
    if (!result.hasMore) return events;
  }
  throw new Error("paging did not end");
}

describe("a bus on the R3 cluster across a stream leader failover", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    cluster = await startNatsCluster();
    nc = await cluster.connect();
    jsm = await jetstreamManager(nc, { timeout: 2_000, checkAPI: false });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("loses no event and stores none twice, while the probe counts the leader change", async () => {
    const log: string[] = [];
    const adapter = new JetStreamAdapter({ url: cluster.urls, prefix: "bus", replicas: 3 });
    let bus: EventBus | undefined;
    const registry = new ReplicationMetricsRegistry();
    const probe = new JetStreamReplicationProbe({
      registry,
      manager: jsm,
      prefix: "bus",
      shards: 2,
      callTimeoutMs: 1_000,
      intervalMs: 60_000,
    });
    const prom = new Registry();
    registerReplicationMetrics(registry, prom);
    let next = 0;
    const ingestSome = (count: number) => {
      for (let i = 0; i < count; i++, next++) {
        expect(bus!.ingest({ n: next, pad: "x".repeat(64) }, { key: `session-${next % 32}` })).toBe(
          "accepted",
        );
      }
    };
    try {
      bus = await createBus({ adapter, shards: 2, logger: keepingLogger(log) });
      ingestSome(1_000);
      await bus.flush(); // both shard streams now exist, R3
      // A stream just created in a cluster may briefly answer "not found" from some servers: wait for
      // both to have a leader and three current replicas.
      const leader = await cluster.waitForLeader("bus_shard_0");
      await cluster.waitForLeader("bus_shard_1");
      expect((await jsm.streams.info("bus_shard_0")).config.num_replicas).toBe(3);
      await probe.probeOnce();

      // Mid-stream: 2,000 events/s keep coming while the leader dies and a new one is elected.
      const feeder = setInterval(() => ingestSome(20), 10);
      let electionMs: number;
      try {
        await sleep(300);
        await cluster.node(leader).server.kill();
        const killedAt = Date.now();
        for (;;) {
          await probe.probeOnce();
          if (registry.channel("bus_shard_0")!.leaderChangesTotal === 1n) break;
          if (Date.now() - killedAt > 30_000) throw new Error("no new leader of bus_shard_0 within 30 s");
          await sleep(200);
        }
        electionMs = Date.now() - killedAt;
        await sleep(500);
      } finally {
        clearInterval(feeder);
      }
      const flushStarted = Date.now();
      await bus.flush();
      const flushMs = Date.now() - flushStarted;
      const stats = bus.stats();
      console.log(
        `failover: ${electionMs} ms to a new leader; ${next} events, flush after the feed took ${flushMs} ms; ` +
          `stats ${JSON.stringify({ ingested: stats.ingested, dispatched: stats.dispatched, dropped: stats.droppedBy })}; ` +
          `acks ${JSON.stringify(adapter.publishCounters)}`,
      );
      expect(stats.dropped, `bus log:\n${log.join("\n")}`).toBe(0);
      expect(stats.ingested).toBe(next);
      expect(stats.dispatched).toBe(next);

      await cluster.node(leader).server.start();
      const stored = [...(await readShard(adapter, 0)), ...(await readShard(adapter, 1))];
      const ids = new Set(stored.map((e) => e.messageId));
      const seen = new Map<number, number>();
      for (const event of stored) {
        const n = (JSON.parse(event.json) as { n: number }).n;
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
      const missing = Array.from({ length: next }, (_, n) => n).filter((n) => !seen.has(n));
      const twice = [...seen].filter(([, times]) => times > 1).map(([n]) => n);
      expect({ missing: missing.length, twice: twice.length }).toEqual({ missing: 0, twice: 0 });
      expect(stored).toHaveLength(next);
      expect(ids.size).toBe(next);
      // The server holds no second copy either. Right after the old leader restarted, stream info may
      // come from a peer still catching up: wait (bounded) for the count to settle, never above `next`.
      let held = 0;
      for (const settleBy = Date.now() + 15_000; ; await sleep(200)) {
        const counts = await Promise.all(
          ["bus_shard_0", "bus_shard_1"].map(async (s) => (await jsm.streams.info(s)).state.messages),
        );
        held = counts[0]! + counts[1]!;
        expect(held).toBeLessThanOrEqual(next);
        if (held === next || Date.now() > settleBy) break;
      }
      expect(held).toBe(next);

      expect(registry.channel("bus_shard_0")!.leaderChangesTotal).toBe(1n);
      const scrape = await prom.metrics();
      expect(scrape).toContain('dataforts_leader_changes_total{channel="bus_shard_0"} 1\n');
      if (process.env.SHOW_SCRAPE) console.log(scrape);
    } finally {
      await probe.stop();
      await bus?.shutdown().catch(() => {});
      await adapter.shutdown().catch(() => {});
    }
  });
});
