import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { StoredEvent } from "../src/contract/adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";
import { ScriptedAdapter, liveSignal } from "./helpers.js";

// order: "insertion" while events are still arriving: an event queued or in flight on a slow shard
// must not be overtaken by later events of the other shards.
describe("insertion order under live traffic", () => {
  it("pages 20,000 events without a timestamp inversion while a slow shard lags behind", async () => {
    const store = new MemoryStore();
    const adapter: ScriptedAdapter = new ScriptedAdapter(
      [
        async (batch) => {
          if (batch.shard === 1) await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
          await adapter.inner.onBatch(batch, liveSignal);
        },
      ],
      store,
    );
    const bus = await createBus({ adapter, shards: 3, batch: { minSize: 50, maxSize: 200, maxDelayMs: 2 } });
    const total = 20_000;
    const producing = (async () => {
      for (let i = 0; i < total; i++) {
        bus.ingest({ i }, { key: `k${i % 31}` });
        if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const seen: StoredEvent[] = [];
    let cursor: string | undefined;
    const deadline = performance.now() + 30_000;
    while (seen.length < total && performance.now() < deadline) {
      const page = await bus.poll({ limit: 500, order: "insertion", ...(cursor && { cursor }) });
      seen.push(...page.events);
      cursor = page.cursor;
      if (page.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await producing;
    await bus.shutdown();
    expect(seen).toHaveLength(total);
    let inversions = 0;
    for (let i = 1; i < seen.length; i++) if (seen[i]!.timestamp < seen[i - 1]!.timestamp) inversions++;
    expect(inversions).toBe(0);
    expect(new Set(seen.map((event) => event.json)).size).toBe(total);
  }, 40_000);
});
