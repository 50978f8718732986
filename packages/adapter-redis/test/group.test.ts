import { runGroupConformance } from "@netmesh/adapter-testkit";
import { silentLogger } from "@netmesh/core/adapter";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createBus, createReader } from "@netmesh/core";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, keysOf, sleep, uniquePrefix } from "./support/helpers.js";

const url = inject("redisUrl");
const prefixes: string[] = [];

afterAll(async () => {
  const redis = new Redis(url);
  for (const prefix of prefixes) await deleteKeys(redis, prefix);
  redis.disconnect();
});

function newPrefix(tag: string): string {
  const prefix = uniquePrefix(tag);
  prefixes.push(prefix);
  return prefix;
}

describe("consumer groups on Redis", () => {
  it("the coordinator: compare-and-set leases, token-fenced monotonic checkpoints (Redis id order), members", async () => {
    const prefix = newPrefix("group-unit");
    const adapter = new RedisAdapter({ url, prefix });
    await adapter.init({ logger: { debug() {}, info() {}, warn() {}, error() {} } as never });
    const c = adapter.coordination();
    expect(await c.acquire("g", 3, "a", "ta", 300)).toBe(true);
    expect(await c.acquire("g", 3, "b", "tb", 300)).toBe(false);
    expect(await c.acquire("g", 3, "a", "ta", 300)).toBe(true); // its own: renewed
    expect(await c.renew("g", 3, "tb", 300)).toBe(false);
    expect(await c.writeCheckpoint("g", 3, "ta", "9-5")).toBe(true);
    expect(await c.writeCheckpoint("g", 3, "ta", "10-0")).toBe(true);
    expect(await c.writeCheckpoint("g", 3, "ta", "9-99")).toBe(true); // held, but never moves back
    expect(await c.readCheckpoint("g", 3)).toBe("10-0");
    expect(await c.writeCheckpoint("g", 3, "tb", "11-0")).toBe(false);
    expect(Object.fromEntries(await c.leases("g"))).toEqual({ 3: "a" });
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await c.renew("g", 3, "ta", 300)).toBe(false); // expired
    expect(await c.acquire("g", 3, "b", "tb", 300)).toBe(true);
    expect(await c.writeCheckpoint("g", 3, "ta", "12-0")).toBe(false);
    await c.release("g", 3, "ta"); // not the holder: a no-op
    expect(Object.fromEntries(await c.leases("g"))).toEqual({ 3: "b" });
    await c.release("g", 3, "tb");
    expect((await c.leases("g")).size).toBe(0);
    await c.heartbeat("g", "b", 5_000);
    await c.heartbeat("g", "a", 100);
    expect(await c.members("g")).toEqual(["a", "b"]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await c.members("g")).toEqual(["b"]);
    await c.leave("g", "b");
    expect(await c.members("g")).toEqual([]);
    // One group's keys share one hash tag (one cluster slot), under the adapter's prefix.
    const redis = new Redis(url);
    const keys = await keysOf(redis, prefix);
    redis.disconnect();
    expect(keys.every((key) => key.startsWith(`{${prefix}:group:g}:`))).toBe(true);
    await expect(c.members("bad{name}")).rejects.toMatchObject({ code: "ADAPTER_FATAL" });
    await adapter.shutdown();
    await expect(c.members("g")).rejects.toThrow(/shut down/);
  });

  it("watch on a caller's client with enableOfflineQueue: false: the subscriber queues its SUBSCRIBE until connected", async () => {
    const prefix = newPrefix("group-watch");
    const mine = new Redis(url, { enableOfflineQueue: false });
    mine.on("error", () => {});
    await new Promise((resolve) => mine.once("ready", resolve));
    const adapter = new RedisAdapter({ client: mine, prefix });
    await adapter.init({ logger: silentLogger });
    try {
      const c = adapter.coordination();
      let heard = 0;
      const unwatch = c.watch?.("g", () => heard++);
      await c.members("g"); // returns once the watch is subscribed
      await c.heartbeat("g", "a", 5_000); // a member joining is published
      for (let tries = 0; heard === 0 && tries < 100; tries++) await sleep(20);
      expect(heard).toBeGreaterThan(0);
      unwatch?.();
    } finally {
      await adapter.shutdown();
      mine.disconnect();
    }
  });

  it("a member closed before it was iterated watches nothing when iterated afterwards", async () => {
    const prefix = newPrefix("group-closed");
    const reader = await createReader({ adapter: new RedisAdapter({ url, prefix }), shards: [0] });
    const redis = new Redis(url);
    const channel = `{${prefix}:group:g}:changes`;
    const subscribers = async () => ((await redis.pubsub("NUMSUB", channel)) as [string, number])[1];
    try {
      const member = reader.subscribe({ group: "g", member: "m" });
      await member.close();
      for await (const event of member) expect.unreachable(`delivered ${event.id} after close`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await subscribers()).toBe(0);
      // The same member iterated while open does watch the group, and stops at close().
      const open = reader.subscribe({ group: "g", member: "n" });
      const iterator = open[Symbol.asyncIterator]();
      void iterator.next();
      await waitUntilTrue(async () => (await subscribers()) === 1);
      await open.close();
      await waitUntilTrue(async () => (await subscribers()) === 0);
    } finally {
      redis.disconnect();
      await reader.close();
    }
  });

  it("a synchronous loop body slower than the lease over a page: renewals still reach Redis, every event once", async () => {
    const prefix = newPrefix("group-busy");
    const bus = await createBus({ adapter: new RedisAdapter({ url, prefix }), shards: 1 });
    for (let i = 0; i < 300; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.shutdown();
    const reader = await createReader({ adapter: new RedisAdapter({ url, prefix }) });
    try {
      const member = reader.subscribe({
        group: "g",
        member: "m",
        leaseTtlMs: 450,
        rebalanceMs: 150,
        pageSize: 150,
      });
      const seen: string[] = [];
      for await (const event of member) {
        seen.push(event.id);
        const until = performance.now() + 4; // CPU-bound work: 600 ms a page, more than the lease
        while (performance.now() < until) {
          // spin
        }
        if (seen.length === 300) break;
      }
      // A lease lost mid-page would have had its page delivered again from the checkpoint.
      expect(new Set(seen).size).toBe(300);
    } finally {
      await reader.close();
    }
  });
});

async function waitUntilTrue(condition: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > ms) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Members, handover, takeover, fencing and manual ack: the testkit's consumer-group suite.
runGroupConformance({
  name: "redis",
  namespace: newPrefix,
  create: (prefix) => new RedisAdapter({ url, prefix }),
});
