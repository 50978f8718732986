import { headers } from "@nats-io/nats-core";
import { TestProducer } from "@netmesh/adapter-testkit";
import { type AdapterError, isAdapterError } from "@netmesh/core/adapter";
import { afterAll, describe, expect, it } from "vitest";
import { shardSubject } from "../src/index.js";
import { expectExactly, readAll, readyAdapter } from "./support/adapter.js";
import { NATS_URL, deleteStreams, liveSignal, uniquePrefix, withConnection } from "./support/nats.js";

const prefix = uniquePrefix("dedup");
afterAll(() => deleteStreams(prefix));

function events(tag: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `{"tag":"${tag}","i":${i},"pad":"${"x".repeat(150)}"}`);
}

describe("retries after a lost ack store each message id once", () => {
  it("a batch whose acks were lost (attempt abandoned after publishing) is re-sent: all duplicates, stored once", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      const warm = producer.batch(0, events("warm", 3));
      await adapter.onBatch(warm, liveSignal());
      const batch = producer.batch(0, events("lost-ack", 2000));
      // The bus gives up on an attempt by aborting its signal. Abort right after the publishes left,
      // before any ack could be read: the server stores the batch but the adapter never sees an ack.
      const controller = new AbortController();
      const first = adapter.onBatch(batch, controller.signal);
      setImmediate(() => controller.abort(new Error("simulated lost reply")));
      const error = await first.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isAdapterError(error), String(error)).toBe(true);
      expect((error as AdapterError).isRetryable).toBe(true);
      const before = adapter.publishCounters;
      // The retry: the very same batch object, as the bus sends it.
      await adapter.onBatch(batch, liveSignal());
      const after = adapter.publishCounters;
      const duplicates = after.duplicates - before.duplicates;
      const stored = after.stored - before.stored;
      // The first attempt's messages went out on the same connection before the retry's, so the server
      // had stored all of them: every ack of the retry reports a duplicate.
      expect({ stored, duplicates }).toEqual({ stored: 0, duplicates: 2000 });
      expect(expectExactly(await readAll(adapter, 0), [warm, batch])).toBeUndefined();
    } finally {
      await adapter.shutdown();
    }
  });

  it("a batch partly stored before a failure (first half) is completed by the retry without duplicates", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      const warm = producer.batch(1, events("warm", 1));
      await adapter.onBatch(warm, liveSignal());
      const batch = producer.batch(1, events("partial", 1000));
      // What a first attempt cut short leaves behind: the first 500 messages, their acks never read.
      await withConnection(NATS_URL, async (nc) => {
        for (let i = 0; i < 500; i++) {
          const h = headers();
          h.set("Nats-Msg-Id", batch.messageId(i));
          h.set("Netmesh-Ts", String(batch.timestamps[i]));
          nc.publish(shardSubject(prefix, 1), batch.events[i], { headers: h });
        }
        await nc.flush();
      });
      const before = adapter.publishCounters;
      await adapter.onBatch(batch, liveSignal());
      const after = adapter.publishCounters;
      expect(after.duplicates - before.duplicates).toBe(500);
      expect(after.stored - before.stored).toBe(500);
      expect(expectExactly(await readAll(adapter, 1), [warm, batch])).toBeUndefined();
    } finally {
      await adapter.shutdown();
    }
  });

  it("the same batch sent three times, then through a second adapter instance, is stored once", async () => {
    const producer = new TestProducer();
    const batch = producer.batch(2, events("thrice", 300));
    const first = await readyAdapter(prefix);
    try {
      for (let attempt = 0; attempt < 3; attempt++) await first.onBatch(batch, liveSignal());
      expect(first.publishCounters).toEqual({ stored: 300, duplicates: 600 });
    } finally {
      await first.shutdown();
    }
    const second = await readyAdapter(prefix);
    try {
      await second.onBatch(batch, liveSignal());
      expect(second.publishCounters).toEqual({ stored: 0, duplicates: 300 });
      expect(expectExactly(await readAll(second, 2, 128), [batch])).toBeUndefined();
    } finally {
      await second.shutdown();
    }
  });
});
