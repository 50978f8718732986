import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { StoredEvent } from "../src/contract/adapter.js";
import { BusClosedError, InvalidCursorError, InvalidFilterError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { ScriptedAdapter } from "./helpers.js";

describe("subscribe()", () => {
  it("receives exactly what producers ingest while it iterates, then stops cleanly on abort", async () => {
    const bus = await createBus({
      adapter: new MemoryAdapter(),
      shards: 4,
      batch: { minSize: 50, maxSize: 500, maxDelayMs: 2 },
    });
    const controller = new AbortController();
    const TOTAL = 20_000;
    const received: StoredEvent[] = [];
    const consumer = (async () => {
      for await (const event of bus.subscribe({ signal: controller.signal, pageSize: 500 })) {
        received.push(event);
        if (received.length === TOTAL) controller.abort();
      }
    })();
    const producers = Array.from({ length: 4 }, async (_, p) => {
      for (let n = 0; n < TOTAL / 4; n++) {
        bus.ingest({ p, n }, { key: `producer-${p}` });
        if (n % 97 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    });
    await Promise.all(producers);
    await consumer; // ends by itself once the abort fires
    expect(received).toHaveLength(TOTAL);
    expect(new Set(received.map((e) => e.messageId)).size).toBe(TOTAL);
    const next = new Map<number, number>();
    for (const event of received) {
      const { p, n } = JSON.parse(event.json) as { p: number; n: number };
      expect(n).toBe(next.get(p) ?? 0);
      next.set(p, n + 1);
    }
    await bus.shutdown();
  });

  it("resumes exactly after the last delivered event, also when the consumer breaks mid-page", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 3 });
    for (let i = 0; i < 1_000; i++) bus.ingest({ i });
    await bus.flush();
    const first = bus.subscribe({ pageSize: 400, order: "insertion" });
    const seen: number[] = [];
    for await (const event of first) {
      seen.push(JSON.parse(event.json).i);
      if (seen.length === 123) break;
    }
    const second = bus.subscribe({ cursor: first.cursor, pageSize: 400 });
    for await (const event of second) {
      seen.push(JSON.parse(event.json).i);
      if (seen.length === 1_000) second.close();
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    await bus.shutdown();
  });

  it("streaming: resumes exactly after the last delivered event after a break, a close() or a cursor read mid-page", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 3 });
    const TOTAL = 3_000;
    for (let i = 0; i < TOTAL; i++) bus.ingest({ i }, { key: `k${i % 17}` });
    await bus.flush();
    const seen: number[] = [];
    let cursor: string | undefined;
    // Stop three ways in turn, each in the middle of a 400-event page, then resume from the cursor.
    for (const stop of ["break", "close", "peek-then-break"] as const) {
      const subscription = bus.subscribe({ pageSize: 400, ...(cursor !== undefined && { cursor }) });
      let taken = 0;
      for await (const event of subscription) {
        seen.push(JSON.parse(event.json).i);
        taken++;
        if (stop === "peek-then-break" && taken === 150) cursor = subscription.cursor;
        if (taken === 157) {
          if (stop === "close") subscription.close();
          else break;
        }
      }
      if (stop === "peek-then-break") {
        // The cursor read at 150 covers exactly those: the 7 after it are delivered again from there.
        seen.splice(seen.length - 7, 7);
      } else cursor = subscription.cursor;
    }
    const rest = bus.subscribe({ cursor: cursor!, pageSize: 400, signal: AbortSignal.timeout(5_000) });
    for await (const event of rest) {
      seen.push(JSON.parse(event.json).i);
      if (seen.length === TOTAL) rest.close();
    }
    expect(seen.length).toBe(TOTAL);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    await bus.shutdown();
  });

  it("delivers only matching events with a filter", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 2 });
    for (let i = 0; i < 300; i++) bus.ingest({ kind: i % 3 === 0 ? "guardrail" : "token", i });
    await bus.flush();
    const subscription = bus.subscribe({ filter: { path: "kind", value: "guardrail" } });
    const kinds: string[] = [];
    for await (const event of subscription) {
      kinds.push(JSON.parse(event.json).kind);
      if (kinds.length === 100) subscription.close();
    }
    expect(kinds).toEqual(new Array(100).fill("guardrail"));
    await bus.shutdown();
  });

  it("ends by itself after shutdown once everything stored was delivered", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 2 });
    const received: StoredEvent[] = [];
    const consumer = (async () => {
      for await (const event of bus.subscribe({ maxIdleMs: 20 })) received.push(event);
    })();
    for (let i = 0; i < 500; i++) bus.ingest({ i });
    await bus.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await bus.shutdown();
    await consumer;
    expect(received).toHaveLength(500);
  });

  it("idles with back-off instead of busy-polling (an adapter without streaming reads)", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter, shards: 4 });
    let calls = 0;
    const poll = adapter.pollShard.bind(adapter);
    adapter.pollShard = (...args) => {
      calls++;
      return poll(...args);
    };
    const controller = new AbortController();
    const consumer = (async () => {
      for await (const _ of bus.subscribe({ signal: controller.signal, minIdleMs: 5, maxIdleMs: 100 })) {
        // nothing arrives
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    controller.abort();
    await consumer;
    // 5+10+20+40+80+100+100+… ms: about 8 polls in 500 ms, 4 shards each.
    expect(calls).toBeLessThanOrEqual(4 * 12);
    expect(calls).toBeGreaterThanOrEqual(4 * 4);
    await bus.shutdown();
  });

  it("follows a streaming adapter without polling, and delivers an event within milliseconds of its store", async () => {
    const adapter = new MemoryAdapter();
    const bus = await createBus({ adapter, shards: 4, batch: { maxDelayMs: 1 } });
    let polls = 0;
    const poll = adapter.pollShard.bind(adapter);
    adapter.pollShard = (...args) => {
      polls++;
      return poll(...args);
    };
    const latencies: number[] = [];
    const controller = new AbortController();
    const consumer = (async () => {
      for await (const event of bus.subscribe({ signal: controller.signal })) {
        latencies.push(performance.now() - (JSON.parse(event.json) as { at: number }).at);
        if (latencies.length === 20) controller.abort();
      }
    })();
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      bus.ingest({ at: performance.now() }, { key: `k${i}` });
    }
    await consumer;
    expect(latencies).toHaveLength(20);
    expect(polls).toBe(0);
    expect(Math.max(...latencies)).toBeLessThan(30);
    await bus.shutdown();
  });

  it("with maxDelayMs 0, delivers a lone event to a subscriber within a few milliseconds", async () => {
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 2, batch: { maxDelayMs: 0 } });
    const controller = new AbortController();
    const latencies: number[] = [];
    const consumer = (async () => {
      for await (const event of bus.subscribe({ signal: controller.signal })) {
        latencies.push(performance.now() - (JSON.parse(event.json) as { at: number }).at);
        if (latencies.length === 10) controller.abort();
      }
    })();
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      bus.ingest({ at: performance.now() });
    }
    await consumer;
    expect(latencies).toHaveLength(10);
    expect(Math.max(...latencies)).toBeLessThan(25);
    await bus.shutdown();
  });

  it("after shutdown, a subscription that is behind still delivers everything stored, then ends", async () => {
    for (const adapter of [new MemoryAdapter(), new ScriptedAdapter()]) {
      const bus = await createBus({ adapter, shards: 4 });
      for (let i = 0; i < 5_000; i++) bus.ingest({ i }, { key: `k${i % 50}` });
      await bus.flush();
      const seen: number[] = [];
      const consumer = (async () => {
        for await (const event of bus.subscribe({ pageSize: 100 })) {
          seen.push((JSON.parse(event.json) as { i: number }).i);
          if (seen.length % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      while (seen.length < 100) await new Promise((resolve) => setTimeout(resolve, 1));
      const report = await bus.shutdown();
      await consumer;
      expect(report.errors).toEqual([]);
      expect(new Set(seen).size).toBe(5_000);
      expect(seen).toHaveLength(5_000);
      await expect(bus.poll({ limit: 10 })).rejects.toThrow(BusClosedError);
    }
  });

  it("validates its options up front", async () => {
    const bus = await createBus();
    expect(() => bus.subscribe({ cursor: "!!" })).toThrow(InvalidCursorError);
    expect(() => bus.subscribe({ filter: { $or: 5 } as never })).toThrow(InvalidFilterError);
    expect(() => bus.subscribe({ pageSize: 0 })).toThrow(/pageSize/);
    await bus.shutdown();
  });
});
