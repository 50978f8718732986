import { afterEach, describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { GroupSubscription } from "../src/consumer/group.js";
import { type Reader, createReader } from "../src/consumer/reader.js";
import type { StoredEvent } from "../src/contract/adapter.js";
import { TransientError } from "../src/contract/adapter-errors.js";
import type { GroupCoordinator } from "../src/contract/group.js";
import { ConfigError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";

const TTL = 1_000;
const REBALANCE = 200;

/** A memory adapter whose coordination can "crash": every call rejects, as from a dead process. */
class CrashableAdapter extends MemoryAdapter {
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
  readonly adapter: CrashableAdapter;
  readonly reader: Reader;
  readonly sub: GroupSubscription;
  readonly seen: StoredEvent[];
  /** Stops consuming without closing anything (a crash, with `adapter.crashed`). */
  halt(): void;
  readonly loop: Promise<void>;
  /** When it crashed (`crashAt` events delivered), performance.now(). */
  crashedAt(): number | undefined;
  /** Crashes after `after` more deliveries; returns the total it will have delivered. */
  armCrash(after: number): number;
}

const open: Member[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((member) => member.reader.close()));
});

async function produce(store: MemoryStore, from: number, count: number): Promise<void> {
  const bus = await createBus({ adapter: new MemoryAdapter({ store }), shards: 8 });
  for (let i = from; i < from + count; i++) bus.ingest({ i }, { key: `k${i}` });
  await bus.shutdown();
}

async function join(store: MemoryStore, name: string, pageSize = 100): Promise<Member> {
  const adapter = new CrashableAdapter({ store });
  const reader = await createReader({ adapter, shardRefreshMs: 100 });
  const sub = reader.subscribe({
    group: "billing",
    member: name,
    leaseTtlMs: TTL,
    rebalanceMs: REBALANCE,
    pageSize,
  });
  const seen: StoredEvent[] = [];
  let halted = false;
  let crashedAt: number | undefined;
  let crashAt = 0;
  const iterator = sub[Symbol.asyncIterator]();
  const loop = (async () => {
    while (!halted) {
      const next = await iterator.next();
      if (next.done === true) return;
      seen.push(next.value);
      if (seen.length === crashAt) {
        // The crash: it stops consuming, and its calls to the backend fail (no release, no leave).
        adapter.crashed = true;
        crashedAt = performance.now();
        return;
      }
    }
  })();
  const member = {
    name,
    adapter,
    reader,
    sub,
    seen,
    halt: () => (halted = true),
    loop,
    crashedAt: () => crashedAt,
    armCrash: (after: number) => {
      crashAt = seen.length + after;
      return crashAt;
    },
  };
  open.push(member);
  return member;
}

async function waitFor(what: string, condition: () => boolean, ms = 10_000): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - start;
}

/** Deliveries per event (`shard:id`), over all members. */
function tally(members: readonly Member[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const member of members) {
    for (const event of member.seen) {
      const key = `${event.shard}:${event.id}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

function duplicates(counts: Map<string, number>): number {
  let sum = 0;
  for (const count of counts.values()) sum += count - 1;
  return sum;
}

/** Every shard owned by exactly one member, and the owned counts. */
function ownership(members: readonly Member[]): { owners: Map<number, string[]>; sizes: number[] } {
  const owners = new Map<number, string[]>();
  for (const member of members) {
    for (const shard of member.sub.shards()) owners.set(shard, [...(owners.get(shard) ?? []), member.name]);
  }
  return { owners, sizes: members.map((member) => member.sub.shards().length).sort() };
}

function balanced(members: readonly Member[], shards: number): boolean {
  const { owners, sizes } = ownership(members);
  const low = Math.floor(shards / members.length);
  return (
    owners.size === shards &&
    [...owners.values()].every((names) => names.length === 1) &&
    sizes.every((size) => size === low || size === low + 1)
  );
}

describe("consumer groups (memory coordinator)", () => {
  it("3 members split 8 shards, each owned by one member, every event delivered exactly once", async () => {
    const store = new MemoryStore();
    await produce(store, 0, 8_000);
    expect(store.shardIds()).toHaveLength(8);
    const members = await Promise.all(["worker-1", "worker-2", "worker-3"].map((name) => join(store, name)));
    await waitFor("a balanced split", () => balanced(members, 8));
    await produce(store, 8_000, 4_000);
    await waitFor("all 12,000 events", () => tally(members).size === 12_000);
    await new Promise((resolve) => setTimeout(resolve, 3 * REBALANCE));
    const counts = tally(members);
    expect(counts.size).toBe(12_000);
    expect(duplicates(counts)).toBe(0);
    expect(balanced(members, 8)).toBe(true);
    expect(ownership(members).sizes).toEqual([2, 3, 3]);
    // Each member read only its own shards in the end; a shard's events came in id order per member.
    for (const member of members) {
      const last = new Map<number, number>();
      for (const event of member.seen) {
        expect(Number(event.id)).toBeGreaterThan(last.get(event.shard) ?? 0);
        last.set(event.shard, Number(event.id));
      }
    }
  });

  it("a member leaving cleanly hands its shards over with no duplicate, a member joining gets shards within a rebalance period", async () => {
    const store = new MemoryStore();
    await produce(store, 0, 4_000);
    const a = await join(store, "a");
    const b = await join(store, "b");
    await waitFor("a 4/4 split", () => balanced([a, b], 8));
    const c = await join(store, "c");
    const joinedIn = await waitFor("c owns a shard", () => c.sub.shards().length > 0);
    expect(joinedIn).toBeLessThan(REBALANCE * 2); // one rebalance period of the others, plus c's retry
    console.info(
      `join: c owned a shard ${Math.round(joinedIn)} ms after it joined (rebalanceMs ${REBALANCE})`,
    );
    await waitFor("a 3/3/2 split", () => balanced([a, b, c], 8));
    await produce(store, 4_000, 4_000);
    await waitFor("all 8,000 events", () => tally([a, b, c]).size === 8_000);
    const owned = c.sub.shards();
    c.halt();
    await c.sub.close();
    expect(c.sub.shards()).toEqual([]);
    await waitFor("a 4/4 split after c left", () => balanced([a, b], 8));
    expect(owned.every((shard) => a.sub.shards().includes(shard) || b.sub.shards().includes(shard))).toBe(
      true,
    );
    await produce(store, 8_000, 4_000);
    await waitFor("all 12,000 events", () => tally([a, b, c]).size === 12_000);
    await new Promise((resolve) => setTimeout(resolve, 3 * REBALANCE));
    const counts = tally([a, b, c]);
    expect(counts.size).toBe(12_000);
    expect(duplicates(counts)).toBe(0);
  });

  it("a member that crashes has its shards taken over within TTL + 1 s; nothing missed, duplicates only its un-checkpointed page", async () => {
    const store = new MemoryStore();
    const pageSize = 50;
    await produce(store, 0, 800);
    const a = await join(store, "a", pageSize);
    const b = await join(store, "b", pageSize);
    const c = await join(store, "c", pageSize);
    await waitFor("a 3/3/2 split", () => balanced([a, b, c], 8));
    const crashAt = b.armCrash(130);
    const feeding = produce(store, 800, 8_000); // mid-stream: b crashes while events arrive
    await waitFor("b's crash", () => b.crashedAt() !== undefined);
    await waitFor("a and c own all 8 shards", () => balanced([a, c], 8), TTL + 2_000);
    const taken = performance.now() - b.crashedAt()!;
    expect(taken).toBeLessThan(TTL + 1_000);
    await feeding;
    await produce(store, 8_800, 2_000);
    await waitFor("all 10,800 events", () => tally([a, b, c]).size === 10_800);
    const counts = tally([a, b, c]);
    expect(counts.size).toBe(10_800); // 0 missed
    expect(b.seen).toHaveLength(crashAt);
    const dupes = duplicates(counts);
    // Only what b delivered after its last checkpoint is delivered again: at most one page.
    expect(dupes).toBeLessThanOrEqual(pageSize);
    const bSeen = new Set(b.seen.map((event) => `${event.shard}:${event.id}`));
    for (const [key, count] of counts) if (count > 1) expect(bSeen.has(key)).toBe(true);
    console.info(
      `crash: taken over in ${Math.round(taken)} ms, b delivered ${b.seen.length}, duplicates ${dupes}`,
    );
  });

  it("manual ack: only checkpoint() moves the group's position", async () => {
    const store = new MemoryStore();
    await produce(store, 0, 800);
    const adapter = new MemoryAdapter({ store });
    const reader = await createReader({ adapter });
    const sub = reader.subscribe({ group: "g", member: "m", ack: "manual", pageSize: 10, rebalanceMs: 50 });
    let count = 0;
    for await (const _event of sub) {
      count++;
      if (count === 25) await sub.checkpoint();
      if (count === 40) break;
    }
    const coordinator = adapter.coordination();
    let checkpointed = 0;
    for (const shard of store.shardIds()) {
      const id = await coordinator.readCheckpoint("g", shard);
      checkpointed += id === undefined ? 0 : Number(id);
    }
    expect(checkpointed).toBe(25);
    // The next member resumes from the checkpoint: 800 - 25 events left.
    const again = reader.subscribe({ group: "g", member: "m2", ack: "auto", rebalanceMs: 50 });
    let rest = 0;
    for await (const _event of again) if (++rest === 775) break;
    expect(rest).toBe(775);
    await reader.close();
  });

  it("refuses bad options, and an adapter without coordination", async () => {
    const reader = await createReader({ adapter: new MemoryAdapter(), shards: [0] });
    expect(() => reader.subscribe({ group: "", member: "m" })).toThrow(ConfigError);
    expect(() => reader.subscribe({ group: "a{b}", member: "m" })).toThrow(ConfigError); // backends tag keys with braces
    expect(() => reader.subscribe({ group: "g", member: "a b" })).toThrow(ConfigError);
    expect(() => reader.subscribe({ group: "g", member: "m", leaseTtlMs: 0 })).toThrow(ConfigError);
    expect(() => reader.subscribe({ group: "g", member: "m", ack: "never" as "auto" })).toThrow(ConfigError);
    await reader.close();
    const plain = new MemoryAdapter();
    const bare = Object.create(plain, { coordination: { value: undefined } }) as MemoryAdapter;
    const other = await createReader({ adapter: bare, shards: [0] });
    expect(() => other.subscribe({ group: "g", member: "m" })).toThrow(/coordination/);
    await other.close();
  });

  it("the memory coordinator: compare-and-set leases with TTL, monotonic checkpoints fenced by the token", async () => {
    const store = new MemoryStore();
    const adapter = new MemoryAdapter({ store });
    await adapter.init({ logger: (await import("../src/contract/logger.js")).silentLogger });
    const c = adapter.coordination();
    let now = 0;
    store.groups.now = () => now;
    expect(await c.acquire("g", 1, "a", "ta", 100)).toBe(true);
    expect(await c.acquire("g", 1, "b", "tb", 100)).toBe(false);
    expect(await c.renew("g", 1, "tb", 100)).toBe(false);
    expect(await c.writeCheckpoint("g", 1, "ta", "10")).toBe(true);
    expect(await c.writeCheckpoint("g", 1, "ta", "9")).toBe(true);
    expect(await c.readCheckpoint("g", 1)).toBe("10");
    expect(await c.writeCheckpoint("g", 1, "tb", "20")).toBe(false);
    expect(Object.fromEntries(await c.leases("g"))).toEqual({ 1: "a" });
    now = 100;
    expect(await c.renew("g", 1, "ta", 100)).toBe(false); // expired
    expect(await c.acquire("g", 1, "b", "tb", 100)).toBe(true);
    expect(await c.writeCheckpoint("g", 1, "ta", "30")).toBe(false);
    await c.release("g", 1, "ta"); // not the holder: a no-op
    expect(Object.fromEntries(await c.leases("g"))).toEqual({ 1: "b" });
    await c.heartbeat("g", "b", 50);
    await c.heartbeat("g", "a", 10);
    expect(await c.members("g")).toEqual(["a", "b"]);
    now = 120;
    expect(await c.members("g")).toEqual(["b"]);
    await c.leave("g", "b");
    expect(await c.members("g")).toEqual([]);
    await adapter.shutdown();
    await expect(c.members("g")).rejects.toThrow(/shut down/);
  });
});
