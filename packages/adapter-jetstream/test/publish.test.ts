import { TestProducer } from "@netmesh/adapter-testkit";
import { isAdapterError } from "@netmesh/core/adapter";
import { afterAll, describe, expect, it } from "vitest";
import { expectExactly, readAll, readyAdapter } from "./support/adapter.js";
import { deleteStreams, liveSignal, uniquePrefix } from "./support/nats.js";

const prefix = uniquePrefix("pub");
afterAll(() => deleteStreams(prefix));

describe("publishing", () => {
  it("a batch larger than maxAckPending goes out in windows, every event stored once and in order", async () => {
    const adapter = await readyAdapter(prefix, { maxAckPending: 100 });
    try {
      const producer = new TestProducer();
      const batches = [
        producer.batch(
          0,
          Array.from({ length: 1_050 }, (_, i) => `{"w":${i}}`),
        ),
        producer.batch(0, ['{"next":1}']),
      ];
      for (const batch of batches) await adapter.onBatch(batch, liveSignal());
      expect(adapter.publishCounters).toEqual({ stored: 1_051, duplicates: 0 });
      expect(expectExactly(await readAll(adapter, 0, 500), batches)).toBeUndefined();
    } finally {
      await adapter.shutdown();
    }
  });

  it("an attempt whose signal is already aborted publishes nothing and is retryable", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const controller = new AbortController();
      controller.abort(new Error("the bus gave up"));
      const error = await adapter
        .onBatch(new TestProducer().batch(1, ['{"never":1}']), controller.signal)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(isAdapterError(error) && error.isRetryable).toBe(true);
      expect(adapter.publishCounters).toEqual({ stored: 0, duplicates: 0 });
      expect(await adapter.pollShard(1, undefined, 10)).toEqual({
        events: [],
        nextId: undefined,
        hasMore: false,
      });
    } finally {
      await adapter.shutdown();
    }
  });

  it("an empty batch resolves without touching the server, even for a shard id never used", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      await adapter.onBatch(new TestProducer().batch(65_534, []), liveSignal());
      expect(await adapter.pollShard(65_534, undefined, 10)).toEqual({
        events: [],
        nextId: undefined,
        hasMore: false,
      });
      const invalid = await adapter.pollShard(65_535, undefined, 10).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAdapterError(invalid) && invalid.kind).toBe("fatal");
    } finally {
      await adapter.shutdown();
    }
  });
});
