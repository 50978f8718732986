import {
  type GroupCoordinator,
  type GroupSubscription,
  type Reader,
  type StoredEvent,
  TransientError,
  createBus,
  createReader,
} from "@netmesh/core";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, keysOf, uniquePrefix } from "./support/helpers.js";

const url = inject("redisUrl");
const prefixes: string[] = [];
const TTL = 1_000;
const REBALANCE = 200;

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

/** A Redis adapter whose coordination can "crash": every call rejects, as from a dead process. */
class CrashableAdapter extends RedisAdapter {
  crashed = false;
  override coordination(): GroupCoordinator {
    const inner = super.coordination();
    const wrapped: Record<string, unknown> = {};
    for (const name of Object.keys(inner) as (keyof GroupCoordinator)[]) {
      wrapped[name] = (...args: unknown[]) =>
        this.crashed
          ? Promise.reject(new TransientError("crashed"))
          : (inner[name] as (...a: unknown[]) => Promise<unknown>)(...args);
    }
    return wrapped as unknown as GroupCoordinator;
  }
}

interface Member {
  readonly name: string;
  readonly reader: Reader;
  readonly sub: GroupSubscription;
  readonly seen: StoredEvent[];
  crashedAt(): number | undefined;
  /** Crashes after `after` more deliveries; returns the total it will have delivered. */
  armCrash(after: number): number;
}

const open: Member[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((member) => member.reader.close()));
});

async function produce(prefix: string, from: number, count: number): Promise<void> {
  const bus = await createBus({ adapter: new RedisAdapter({ url, prefix }), shards: 8 });
  for (let i = from; i < from + count; i++) bus.ingest({ i }, { key: `k${i}` });
  await bus.shutdown();
}

async function join(prefix: string, name: string, pageSize = 100): Promise<Member> {
  const adapter = new CrashableAdapter({ url, prefix });
  const reader = await createReader({ adapter, shardRefreshMs: 100 });
  const sub = reader.subscribe({
    group: "billing",
    member: name,
    leaseTtlMs: TTL,
    rebalanceMs: REBALANCE,
    pageSize,
  });
  const seen: StoredEvent[] = [];
  let crashedAt: number | undefined;
  let crashAt = 0;
  const iterator = sub[Symbol.asyncIterator]();
  void (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      seen.push(next.value);
      if (seen.length === crashAt) {
        adapter.crashed = true; // stops consuming; no checkpoint, release or leave reaches Redis
        crashedAt = performance.now();
        return;
      }
    }
  })();
  const member = {
    name,
    reader,
    sub,
    seen,
    crashedAt: () => crashedAt,
    armCrash: (after: number) => {
      crashAt = seen.length + after;
      return crashAt;
    },
  };
  open.push(member);
  return member;
}

async function waitFor(what: string, condition: () => boolean, ms = 15_000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function tally(members: readonly Member[]): { distinct: number; duplicates: number } {
  const counts = new Map<string, number>();
  for (const member of members)
    for (const event of member.seen) {
      const key = `${event.shard}:${event.id}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  let duplicates = 0;
  for (const count of counts.values()) duplicates += count - 1;
  return { distinct: counts.size, duplicates };
}

function balanced(members: readonly Member[], shards: number): boolean {
  const owned = members.flatMap((member) => member.sub.shards());
  const low = Math.floor(shards / members.length);
  return (
    owned.length === shards &&
    new Set(owned).size === shards &&
    members.every((member) => [low, low + 1].includes(member.sub.shards().length))
  );
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

  it("3 members split 8 shards; a member leaving hands over with no duplicate; every event once", async () => {
    const prefix = newPrefix("group-split");
    await produce(prefix, 0, 800);
    const members = await Promise.all(["w1", "w2", "w3"].map((name) => join(prefix, name)));
    await waitFor("a 3/3/2 split", () => balanced(members, 8));
    await produce(prefix, 800, 8_000);
    await waitFor("all 8,800 events", () => tally(members).distinct === 8_800);
    await members[2]!.sub.close();
    await waitFor("a 4/4 split", () => balanced(members.slice(0, 2), 8));
    await produce(prefix, 8_800, 4_000);
    await waitFor("all 12,800 events", () => tally(members).distinct === 12_800);
    await new Promise((resolve) => setTimeout(resolve, 3 * REBALANCE));
    expect(tally(members)).toEqual({ distinct: 12_800, duplicates: 0 });
  });

  it("a member that crashes mid-stream has its shards taken over within TTL + 1 s; 0 missed, duplicates < a page", async () => {
    const prefix = newPrefix("group-crash");
    const pageSize = 50;
    await produce(prefix, 0, 800);
    const a = await join(prefix, "a", pageSize);
    const b = await join(prefix, "b", pageSize);
    const c = await join(prefix, "c", pageSize);
    await waitFor("a 3/3/2 split", () => balanced([a, b, c], 8));
    const crashAt = b.armCrash(130);
    const feeding = produce(prefix, 800, 8_000);
    await waitFor("b's crash", () => b.crashedAt() !== undefined);
    await waitFor("a and c own all 8 shards", () => balanced([a, c], 8), TTL + 3_000);
    const taken = performance.now() - b.crashedAt()!;
    expect(taken).toBeLessThan(TTL + 1_000);
    await feeding;
    await waitFor("all 8,800 events", () => tally([a, b, c]).distinct === 8_800);
    const { distinct, duplicates } = tally([a, b, c]);
    expect(distinct).toBe(8_800);
    expect(b.seen).toHaveLength(crashAt);
    expect(duplicates).toBeLessThanOrEqual(pageSize);
    console.info(`redis crash: taken over in ${Math.round(taken)} ms, duplicates ${duplicates}`);
  });
});
