import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createBus } from "../src/bus.js";
import type { StoredEvent } from "../src/contract/adapter.js";
import { sleep, withTimeout } from "../src/lifecycle/timers.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";
import { ScriptedAdapter, liveSignal } from "./helpers.js";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Bounds past setTimeout's range (2^31 − 1 ms), which Node would fire after 1 ms. */
const unbounded = [
  ["2^31 ms", 2 ** 31] as const,
  ["2^53 ms", 2 ** 53] as const,
  ["Infinity", Infinity] as const,
];

let warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(warning.name);
beforeEach(() => {
  warnings = [];
  process.on("warning", onWarning);
});
afterEach(() => {
  process.off("warning", onWarning);
});

describe("timers beyond setTimeout's range", () => {
  it.each(unbounded)("withTimeout(%s) waits for the call", async (_, ms) => {
    await expect(withTimeout("slow", ms, () => delay(30).then(() => "done"))).resolves.toBe("done");
    expect(warnings).not.toContain("TimeoutOverflowWarning");
  });

  it.each(unbounded)("sleep(%s) sleeps until aborted", async (_, ms) => {
    const controller = new AbortController();
    const slept = sleep(ms, controller.signal);
    const outcome = await Promise.race([slept, delay(30).then(() => "still asleep")]);
    expect(outcome).toBe("still asleep");
    controller.abort();
    expect(await slept).toBe(false);
    expect(warnings).not.toContain("TimeoutOverflowWarning");
  });

  it("withTimeout past setTimeout's range times out when the bound has passed, not before", async () => {
    vi.useFakeTimers();
    try {
      let outcome = "pending";
      withTimeout("long", 2 ** 31 + 5, () => new Promise(() => {})).catch((error: Error) => {
        outcome = error.message;
      });
      await vi.advanceTimersByTimeAsync(2 ** 31 + 4);
      expect(outcome).toBe("pending");
      await vi.advanceTimersByTimeAsync(1);
      expect(outcome).toBe(`long timed out after ${2 ** 31 + 5} ms`);
    } finally {
      vi.useRealTimers();
    }
  });

  it("withTimeout still times out within setTimeout's range", async () => {
    await expect(withTimeout("hung", 10, () => new Promise(() => {}))).rejects.toThrow(
      "hung timed out after 10 ms",
    );
  });
});

describe("shutdown bounds beyond setTimeout's range", () => {
  it.each(unbounded)("deadlineMs %s lets every pending event be sent", async (_, deadlineMs) => {
    const store = new MemoryStore();
    const slowStore = new MemoryAdapter({ store });
    await slowStore.init();
    const adapter = new ScriptedAdapter(
      [
        async (batch) => {
          await delay(40);
          return slowStore.onBatch(batch, liveSignal);
        },
      ],
      store,
    );
    const bus = await createBus({ adapter, shards: 1, batch: { minSize: 1, maxSize: 10 } });
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    const report = await bus.shutdown({ deadlineMs });
    expect(report.stats).toMatchObject({ ingested: 10, dispatched: 10, dropped: 0 });
    expect(report.lossy).toBe(false);
    expect(report.errors).toEqual([]);
    expect(warnings).not.toContain("TimeoutOverflowWarning");
  });

  it.each(unbounded)(
    "subscriptionGraceMs %s lets a running subscription deliver everything",
    async (_, grace) => {
      const bus = await createBus({ adapter: new ScriptedAdapter(), shards: 1 });
      for (let i = 0; i < 5; i++) bus.ingest({ i });
      await bus.flush();
      const received: StoredEvent[] = [];
      const consumer = (async () => {
        for await (const event of bus.subscribe({ pageSize: 1, maxIdleMs: 5 })) {
          received.push(event);
          await delay(10); // a slow consumer: shutdown has to wait for it
        }
      })();
      await delay(5);
      await bus.shutdown({ subscriptionGraceMs: grace });
      await consumer;
      expect(received).toHaveLength(5);
      expect(warnings).not.toContain("TimeoutOverflowWarning");
    },
  );
});
