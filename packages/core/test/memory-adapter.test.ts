import { describe, expect, it } from "vitest";
import { isAdapterError } from "../src/contract/adapter-errors.js";
import { formatMessageId } from "../src/contract/batch.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { OutgoingBatch } from "../src/dispatch/outgoing-batch.js";
import { readShard } from "./helpers.js";

const producer = "00000000000000aa";
function batch(shard: number, first: number, count: number) {
  const texts = Array.from({ length: count }, (_, i) => JSON.stringify({ n: first + i }));
  const stamps = Float64Array.from({ length: count }, (_, i) => 1_000 + first + i);
  return OutgoingBatch.fromTexts(shard, producer, first, texts, stamps);
}
const signal = new AbortController().signal;

describe("MemoryAdapter", () => {
  it("pages with exclusive cursors, limits, nextId and hasMore", async () => {
    const adapter = new MemoryAdapter();
    await adapter.init();
    await adapter.onBatch(batch(2, 0, 5), signal);
    const first = await adapter.pollShard(2, undefined, 2);
    expect(first.events.map((e) => e.id)).toEqual(["1", "2"]);
    expect(first).toMatchObject({ nextId: "2", hasMore: true });
    const second = await adapter.pollShard(2, "2", 3);
    expect(second.events.map((e) => JSON.parse(e.json).n)).toEqual([2, 3, 4]);
    expect(second).toMatchObject({ nextId: "5", hasMore: false });
    expect(await adapter.pollShard(2, "5", 10)).toEqual({ events: [], nextId: undefined, hasMore: false });
    expect(await adapter.pollShard(7, undefined, 10)).toEqual({
      events: [],
      nextId: undefined,
      hasMore: false,
    });
    expect(second.events[0]).toEqual({
      id: "3",
      shard: 2,
      timestamp: 1_002,
      json: '{"n":2}',
      messageId: formatMessageId(producer, 2, 2),
    });
  });

  it("stores a retried batch once, also when it overlaps what is stored", async () => {
    const adapter = new MemoryAdapter();
    await adapter.init();
    const b = batch(0, 0, 4);
    await adapter.onBatch(b, signal);
    await adapter.onBatch(b, signal);
    await adapter.onBatch(batch(0, 2, 4), signal); // sequences 2..5: only 4 and 5 are new
    expect((await readShard(adapter, 0)).map((e) => JSON.parse(e.json).n)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("trims to maxLength keeping ids stable; an old cursor resumes at the oldest retained event", async () => {
    const adapter = new MemoryAdapter({ maxLength: 3 });
    await adapter.init();
    for (let k = 0; k < 2000; k++) await adapter.onBatch(batch(1, k * 2, 2), signal);
    expect(adapter.store.size(1)).toBe(3);
    const page = await adapter.pollShard(1, "1", 10);
    expect(page.events.map((e) => e.id)).toEqual(["3998", "3999", "4000"]);
    expect(page.events.map((e) => JSON.parse(e.json).n)).toEqual([3997, 3998, 3999]);
  });

  it("refuses bad cursors and limits with non-retryable errors", async () => {
    const adapter = new MemoryAdapter();
    await adapter.init();
    for (const [cursor, limit] of [
      ["abc", 1],
      ["-1", 1],
      ["01", 1],
      ["1", 0],
      ["1", 1.5],
    ] as const) {
      const error = await adapter.pollShard(0, cursor, limit).catch((e: unknown) => e);
      expect(isAdapterError(error) && !error.isRetryable).toBe(true);
    }
  });

  it("follows the lifecycle: unhealthy before init, shutdown idempotent and final", async () => {
    const adapter = new MemoryAdapter();
    expect(await adapter.isHealthy()).toBe(false);
    await adapter.init();
    await adapter.init();
    expect(await adapter.isHealthy()).toBe(true);
    await adapter.shutdown();
    await adapter.shutdown();
    expect(await adapter.isHealthy()).toBe(false);
    for (const call of [
      () => adapter.onBatch(batch(0, 0, 1), signal),
      () => adapter.pollShard(0, undefined, 1),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(isAdapterError(error) && error.kind === "shutdown").toBe(true);
    }
  });
});
