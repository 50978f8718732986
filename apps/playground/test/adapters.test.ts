import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { DEFAULT_NATS_URL } from "../src/backends/jetstream.js";
import { DEFAULT_REDIS_URL } from "../src/backends/redis.js";
import { runPlayground } from "../src/run.js";
import { expectConsistent, expectLossless } from "./support/summary-checks.js";

const SMALL = { sessions: 40, events: 20_000, shards: 4, seed: 11, backpressure: "block" } as const;
const redisUrl = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
const natsUrl = process.env.NATS_URL ?? DEFAULT_NATS_URL;

describe("the playground on every adapter, against the real backend", () => {
  it("noop: verifies the counts (the adapter received exactly what the bus dispatched)", async () => {
    const s = await runPlayground({ ...SMALL, adapter: "noop" });
    expectConsistent(s);
    expect(s.verification.mode).toBe("counts");
    expect(s.ok).toBe(true);
    expect(s.verification.readBack).toBe(s.bus.dispatched);
    expect(s.bus.dispatched).toBe(s.produced);
    expect(s.verdict).toMatch(/^OK: every accepted event counted by the adapter/);
  });

  it("redis: reads every event back from Redis, then deletes exactly its keys", async () => {
    const s = await runPlayground({ ...SMALL, adapter: "redis", url: redisUrl });
    expectConsistent(s);
    expectLossless(s);
    expect(s.verification.mode).toBe("read-back");
    expect(s.sessions).toMatchObject({ total: 40, verified: 40 });
    const prefix = /\{(playground-[\w-]+):/.exec(s.config.backend)?.[1];
    expect(prefix).toBeDefined();
    expect(s.cleanup).toMatch(/^deleted \d+ keys/);
    const redis = new Redis(redisUrl);
    try {
      const [, keys] = await redis.scan("0", "MATCH", `{${prefix}:*`, "COUNT", 10_000);
      expect(keys).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it("jetstream: reads every event back from JetStream, then deletes its streams", async () => {
    const s = await runPlayground({ ...SMALL, adapter: "jetstream", url: natsUrl });
    expectConsistent(s);
    expectLossless(s);
    expect(s.sessions).toMatchObject({ total: 40, verified: 40 });
    const prefix = /streams (playground_\w+?)_shard_/.exec(s.config.backend)?.[1];
    expect(prefix).toBeDefined();
    expect(s.cleanup).toBe(`deleted 4 streams ${prefix}_shard_<id>`);
    const connection = await connect({ servers: natsUrl });
    try {
      const manager = await jetstreamManager(connection);
      const left: string[] = [];
      for await (const name of manager.streams.names()) if (name.startsWith(`${prefix}_`)) left.push(name);
      expect(left).toEqual([]);
    } finally {
      await connection.close();
    }
  });

  it("redis with --replica: its own master and replica, the lag measured by @netmesh/replication-metrics", async () => {
    const s = await runPlayground({ ...SMALL, adapter: "redis", replica: true });
    expectConsistent(s);
    expectLossless(s);
    expect(s.config.backend).toMatch(/\(own redis-server\) with a replica at redis:\/\/127\.0\.0\.1:\d+/);
    expect(s.replication).toBeDefined();
    expect(s.replication!.channels).toBe(4);
    expect(s.replication!.syncBytes).toBeGreaterThan(0);
    expect(s.replication!.maxReplicaLagMs).not.toBeNull();
    expect(s.cleanup).toMatch(/and its replica$/);
    await expect(runPlayground({ ...SMALL, replica: true })).rejects.toThrow(
      /--replica .* with --adapter redis/,
    );
  });

  it("kinesis: reads every event back from its own kinesalite, then deletes the stream", async () => {
    const s = await runPlayground({ ...SMALL, adapter: "kinesis" });
    expectConsistent(s);
    expectLossless(s);
    expect(s.sessions).toMatchObject({ total: 40, verified: 40 });
    expect(s.config.backend).toMatch(/^http:\/\/127\.0\.0\.1:\d+ \(own kinesalite\), stream playground-/);
    expect(s.cleanup).toMatch(/^deleted stream playground-[\w-]+ and stopped the own kinesalite$/);
  });
});
