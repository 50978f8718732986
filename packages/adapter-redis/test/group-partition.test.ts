import { type StoredEvent, TransientError, createBus, createReader } from "@netmesh/core";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { type Blackhole, startBlackhole } from "./support/blackhole.js";
import { deleteKeys, uniquePrefix } from "./support/helpers.js";

const url = inject("redisUrl");
const prefix = uniquePrefix("group-partition");
const TTL = 1_000;
const EVENTS = 600;
let blackhole: Blackhole | undefined;

afterAll(async () => {
  await blackhole?.close();
  const redis = new Redis(url);
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("consumer groups on Redis: a member cut off from Redis", () => {
  it("stops delivering its page once its lease ran out, before the member that takes the shard over starts", async () => {
    const bus = await createBus({ adapter: new RedisAdapter({ url, prefix }), shards: 1 });
    for (let i = 0; i < EVENTS; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.shutdown();
    const hole = await startBlackhole(Number(new URL(url).port));
    blackhole = hole;
    const settings = { group: "g", leaseTtlMs: TTL, rebalanceMs: 200, pageSize: 500 };
    // "a" (sorting first, so the one shard is its share) reaches Redis through the proxy only.
    const far = await createReader({
      adapter: new RedisAdapter({ url: `redis://127.0.0.1:${hole.port}`, prefix }),
    });
    const near = await createReader({ adapter: new RedisAdapter({ url, prefix }) });
    const byA: { event: StoredEvent; at: number }[] = [];
    const byZ: { event: StoredEvent; at: number }[] = [];
    const a = far.subscribe({ ...settings, member: "a" });
    const consumingA = (async () => {
      for await (const event of a) {
        byA.push({ event, at: performance.now() });
        if (byA.length === 20) hole.silence(); // mid-page: renewals and checkpoints stop arriving
        await pause(10); // a slow loop body: the page in hand would last 5 s
      }
    })();
    while (byA.length < 5) await pause(10);
    const z = near.subscribe({ ...settings, member: "z" });
    const consumingZ = (async () => {
      for await (const event of z) {
        byZ.push({ event, at: performance.now() });
        if (new Set(byZ.map((d) => d.event.id)).size === EVENTS) break;
      }
    })();
    const deadline = performance.now() + 20_000;
    while (new Set(byZ.map((d) => d.event.id)).size < EVENTS && performance.now() < deadline) await pause(20);
    await consumingZ;
    const zStarted = byZ[0]!.at;
    const late = byA.filter((d) => d.at >= zStarted).map((d) => d.event.id);
    console.info(`partitioned member: ${byA.length} delivered, ${late.length} after z took the shard over`);
    hole.heal();
    await Promise.all([far.close(), near.close()]);
    await consumingA;
    expect(byA.length).toBeGreaterThanOrEqual(20);
    expect(late).toEqual([]);
  }, 60_000);

  it("checkpoint() rejects with a TransientError while Redis is unreachable, and a later call saves the position", async () => {
    const shardPrefix = `${prefix}-ckpt`;
    const bus = await createBus({ adapter: new RedisAdapter({ url, prefix: shardPrefix }), shards: 1 });
    for (let i = 0; i < 50; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.shutdown();
    const hole = await startBlackhole(Number(new URL(url).port));
    const far = await createReader({
      adapter: new RedisAdapter({
        url: `redis://127.0.0.1:${hole.port}`,
        prefix: shardPrefix,
        commandTimeoutMs: 300,
      }),
    });
    const near = new RedisAdapter({ url, prefix: shardPrefix });
    await near.init();
    try {
      const a = far.subscribe({ group: "g", member: "a", ack: "manual", leaseTtlMs: 10_000, pageSize: 10 });
      const iterator = a[Symbol.asyncIterator]();
      let last: StoredEvent | undefined;
      for (let i = 0; i < 5; i++) {
        const next = await iterator.next();
        expect(next.done).toBe(false);
        last = next.value as StoredEvent;
      }
      hole.silence();
      await expect(a.checkpoint()).rejects.toBeInstanceOf(TransientError);
      const coordinator = near.coordination();
      expect(await coordinator.readCheckpoint("g", last!.shard)).toBeUndefined();
      hole.heal(); // the silenced connection is cut; the client reconnects through the proxy
      const deadline = performance.now() + 10_000;
      let saved = false;
      while (!saved && performance.now() < deadline) {
        saved = await a.checkpoint().then(
          () => true,
          () => false,
        );
        if (!saved) await pause(50);
      }
      expect(saved).toBe(true);
      expect(await coordinator.readCheckpoint("g", last!.shard)).toBe(last!.id);
    } finally {
      await far.close();
      await near.shutdown();
      await hole.close();
      const redis = new Redis(url);
      await deleteKeys(redis, shardPrefix);
      redis.disconnect();
    }
  }, 30_000);
});
