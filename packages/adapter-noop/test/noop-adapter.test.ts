import { createBus } from "@netmesh/core";
import {
  ADAPTER_SPEC_VERSION,
  type Batch,
  encodeBatchTexts,
  formatMessageId,
  isAdapterError,
  silentLogger,
} from "@netmesh/core/adapter";
import { describe, expect, it } from "vitest";
import { NoopAdapter } from "../src/index.js";

const live = new AbortController().signal;

function batch(shard: number, events: string[]): Batch {
  return {
    shard,
    producer: "0123456789abcdef",
    firstSequence: 0,
    size: events.length,
    events,
    bytes: () => encodeBatchTexts(events),
    timestamps: Float64Array.from(events, (_, i) => 1_700_000_000_000_000 + i),
    messageId: (index) => formatMessageId("0123456789abcdef", shard, index),
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

describe("NoopAdapter", () => {
  it("is named noop and implements the current contract version", () => {
    const adapter = new NoopAdapter();
    expect(adapter.name).toBe("noop");
    expect(adapter.specVersion).toBe(ADAPTER_SPEC_VERSION);
  });

  it("counts accepted batches and their events, empty batches and retries included", async () => {
    const adapter = new NoopAdapter();
    await adapter.init({ logger: silentLogger });
    expect([adapter.batches, adapter.events]).toEqual([0, 0]);
    const three = batch(0, ["1", "2", "3"]);
    await adapter.onBatch(three, live);
    await adapter.onBatch(batch(5, []), live);
    await adapter.onBatch(three, live); // a retry is delivered again, so counted again
    expect([adapter.batches, adapter.events]).toEqual([3, 6]);
  });

  it("always polls an empty page", async () => {
    const adapter = new NoopAdapter();
    await adapter.init({ logger: silentLogger });
    await adapter.onBatch(batch(2, ['{"a":1}']), live);
    expect(await adapter.pollShard(2, undefined, 10)).toEqual({
      events: [],
      nextId: undefined,
      hasMore: false,
    });
    expect(await adapter.pollShard(2, "any-cursor", 1)).toEqual({
      events: [],
      nextId: undefined,
      hasMore: false,
    });
  });

  it("reports health false before init, true after, false after shutdown", async () => {
    const adapter = new NoopAdapter();
    expect(await adapter.isHealthy()).toBe(false);
    await adapter.init({ logger: silentLogger });
    await adapter.init({ logger: silentLogger });
    expect(await adapter.isHealthy()).toBe(true);
    await adapter.shutdown();
    await adapter.shutdown();
    expect(await adapter.isHealthy()).toBe(false);
  });

  it("rejects work after shutdown with a non-retryable AdapterShutdownError, keeping its counts", async () => {
    const adapter = new NoopAdapter();
    await adapter.init({ logger: silentLogger });
    await adapter.onBatch(batch(0, ["1"]), live);
    await adapter.shutdown();
    for (const call of [
      () => adapter.onBatch(batch(0, ["2"]), live),
      () => adapter.pollShard(0, undefined, 1),
      () => adapter.flush(),
      () => adapter.init({ logger: silentLogger }),
    ]) {
      const error = await rejection(call());
      expect(isAdapterError(error) && error.kind === "shutdown" && !error.isRetryable).toBe(true);
    }
    expect([adapter.batches, adapter.events]).toEqual([1, 1]);
  });

  it("rejects onBatch before init and a bad limit with non-retryable fatal errors", async () => {
    const adapter = new NoopAdapter();
    const early = await rejection(adapter.onBatch(batch(0, ["1"]), live));
    expect(isAdapterError(early) && early.kind === "fatal").toBe(true);
    await adapter.init({ logger: silentLogger });
    for (const limit of [0, -3, 2.5, Number.NaN]) {
      const error = await rejection(adapter.pollShard(0, undefined, limit));
      expect(isAdapterError(error) && error.kind === "fatal" && !error.isRetryable).toBe(true);
    }
    expect(adapter.batches).toBe(0);
  });

  it("does not count a batch whose signal was already aborted, and says it may be retried", async () => {
    const adapter = new NoopAdapter();
    await adapter.init({ logger: silentLogger });
    const controller = new AbortController();
    controller.abort(new Error("timed out"));
    const error = await rejection(adapter.onBatch(batch(0, ["1"]), controller.signal));
    expect(isAdapterError(error) && error.kind === "transient" && error.isRetryable).toBe(true);
    expect(adapter.batches).toBe(0);
  });

  it("lets a benchmark verify delivery: events equals the bus's dispatched count", async () => {
    const adapter = new NoopAdapter();
    const bus = await createBus({ adapter, shards: 4 });
    const values = Array.from({ length: 5_000 }, (_, i) => ({ i }));
    expect(bus.ingestMany(values)).toBe(5_000);
    await bus.flush();
    expect(adapter.events).toBe(bus.stats().dispatched);
    expect(adapter.batches).toBe(bus.stats().batches);
    const report = await bus.shutdown();
    expect(report.lossy).toBe(false);
    expect(adapter.events).toBe(5_000);
    expect(await adapter.isHealthy()).toBe(false);
  });
});
