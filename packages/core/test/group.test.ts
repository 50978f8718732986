import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { createReader } from "../src/consumer/reader.js";
import { ConfigError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";

// The behaviour of members (fair shares, handover, takeover, fencing, manual ack) is checked by the
// testkit's consumer-group suite, which the memory adapter runs in packages/adapter-testkit.
describe("consumer groups (memory coordinator)", () => {
  it("a reader lets go of its members once they close: none is kept, no listener is left", async () => {
    const store = new MemoryStore();
    const reader = await createReader({ adapter: new MemoryAdapter({ store }), shards: [0] });
    const members = Reflect.get(reader, "members") as Set<unknown>;
    const readerSignal = (Reflect.get(reader, "stop") as AbortController).signal;
    const outer = new AbortController();
    for (let i = 0; i < 50; i++) {
      const member = reader.subscribe({ group: "g", member: `m${i}`, signal: outer.signal });
      if (i % 2 === 0) void member[Symbol.asyncIterator]().next(); // some start, some never do
      await member.close();
    }
    expect(members.size).toBe(0);
    expect(getEventListeners(readerSignal, "abort")).toHaveLength(0);
    expect(getEventListeners(outer.signal, "abort")).toHaveLength(0);
    const open = reader.subscribe({ group: "g", member: "last" });
    expect(members.size).toBe(1);
    await reader.close(); // closes the open one too
    expect(members.size).toBe(0);
    await open.close(); // idempotent
  });

  it("refuses bad options, and an adapter without coordination", async () => {
    const reader = await createReader({ adapter: new MemoryAdapter(), shards: [0] });
    expect(() => reader.subscribe({ group: "", member: "m" })).toThrow(ConfigError);
    expect(() => reader.subscribe({ group: "a{b}", member: "m" })).toThrow(ConfigError); // backends tag keys with braces
    expect(() => reader.subscribe({ group: "g", member: "a b" })).toThrow(ConfigError);
    expect(() => reader.subscribe({ group: "g", member: "m", leaseTtlMs: 0 })).toThrow(ConfigError);
    expect(() => reader.subscribe({ group: "g", member: "m", ack: "never" as "auto" })).toThrow(ConfigError);
    // The documented names: "!" to "~" but "{" and "}", 1 to 200 of them; anything else names its option.
    const allowed = Array.from({ length: 0x7e - 0x20 }, (_, i) => String.fromCharCode(0x21 + i))
      .filter((c) => c !== "{" && c !== "}")
      .join("");
    for (const name of [allowed, "x".repeat(200), "a:b/c.d*e>f"]) {
      const member = reader.subscribe({ group: name, member: name });
      await member.close();
    }
    for (const bad of ["", " ", "a b", "{", "}", "é", "x".repeat(201), "a\n"]) {
      expect(() => reader.subscribe({ group: bad, member: "m" })).toThrow(
        expect.objectContaining({ code: "INVALID_CONFIG", path: "group" }),
      );
      expect(() => reader.subscribe({ group: "g", member: bad })).toThrow(
        expect.objectContaining({ code: "INVALID_CONFIG", path: "member" }),
      );
    }
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

describe("consumer groups: renewal traffic", () => {
  it.each([
    [900, 100], // the renewal period is rebalanceMs
    [900, 1_000], // ... at most leaseTtlMs / 3
  ])(
    "leaseTtlMs %i, rebalanceMs %i: one renewal per held shard every min(rebalanceMs, leaseTtlMs / 3)",
    async (ttl, rebalanceMs) => {
      const adapter = new MemoryAdapter();
      let renewals = 0;
      const coordination = adapter.coordination.bind(adapter);
      adapter.coordination = () => {
        const inner = coordination();
        return {
          ...inner,
            renew: (...args) => {
            renewals++;
            return inner.renew(...args);
          },
        };
      };
      const reader = await createReader({ adapter, shards: [0] });
      const member = reader.subscribe({ group: "g", member: "m", leaseTtlMs: ttl, rebalanceMs });
      const iterator = member[Symbol.asyncIterator]();
      void iterator.next();
      const start = performance.now();
      while (member.shards().length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const before = renewals;
      await new Promise((resolve) => setTimeout(resolve, 2 * ttl));
      const counted = renewals - before;
      await reader.close();
      const expected = (2 * ttl) / Math.min(rebalanceMs, ttl / 3);
      expect(performance.now() - start).toBeLessThan(10 * ttl);
      expect(counted).toBeLessThanOrEqual(expected + 1); // timers run late, never early
      expect(counted).toBeGreaterThanOrEqual(expected / 2);
    },
  );
});
