import { TestBatch, TestProducer } from "@netmesh/adapter-testkit";
import { type StoredEvent, TransientError } from "@netmesh/core/adapter";
import { describe, expect, inject, it } from "vitest";
import { APPEND_SCRIPT, partlyStored } from "../src/append-script.js";
import { classify } from "../src/classify.js";
import { dedupKey, streamKey } from "../src/index.js";
import { Redactor } from "../src/redaction.js";
import { Script } from "../src/script.js";
import { readAll } from "./support/helpers.js";
import { type AdapterSettings, useAdapters } from "./support/adapters.js";
import { startReplyCutter } from "./support/reply-cutter.js";

const url = inject("redisUrl");
const live = new AbortController().signal;

const harness = useAdapters("dedup");
const ready = (_tag: string, settings: AdapterSettings = {}) => harness.ready(settings);

function events(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => `{"${tag}":${i}}`);
}

/** The sequence numbers of stored events, from their message ids. */
function sequences(stored: readonly StoredEvent[]): number[] {
  return stored.map((event) => Number(event.messageId!.split(":")[2]));
}

describe("dedup by per-producer high-water mark", () => {
  it("stores a batch sent twice once, and the mark holds the next sequence", async () => {
    const { adapter, prefix } = await ready("twice");
    const producer = new TestProducer();
    const first = producer.batch(3, events(5, "a"));
    const second = producer.batch(3, events(4, "b"));
    await adapter.onBatch(first, live);
    await adapter.onBatch(first, live);
    await adapter.onBatch(second, live);
    await adapter.onBatch(second, live);
    const stored = await readAll(adapter, 3);
    expect(stored.map((event) => event.json)).toEqual([...first.events, ...second.events]);
    expect(sequences(stored)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await harness.redis().xlen(streamKey(prefix, 3))).toBe(9);
    expect(await harness.redis().get(dedupKey(prefix, 3, producer.producer))).toBe("9");
  });

  it("stores exactly the rest when an earlier attempt stored a prefix, across chunk boundaries", async () => {
    // Chunks of 1,000: the full batch goes as 1,000 + 1,000 + 500, the earlier attempt had stored 1,500.
    const { adapter } = await ready("partial", { maxEventsPerCall: 1000 });
    const producer = new TestProducer();
    const batch = producer.batch(0, events(2500, "p"));
    const earlier = new TestBatch(
      0,
      batch.producer,
      0,
      batch.events.slice(0, 1500),
      batch.timestamps.slice(0, 1500),
    );
    await adapter.onBatch(earlier, live);
    await adapter.onBatch(batch, live);
    const stored = await readAll(adapter, 0);
    expect(stored).toHaveLength(2500);
    expect(sequences(stored)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    expect(stored.map((event) => event.json)).toEqual(batch.events);
    expect(stored.map((event) => event.timestamp)).toEqual([...batch.timestamps]);
  });

  it("accepts a batch after a gap (a batch the bus dropped), and a stale retry after it adds nothing", async () => {
    const { adapter } = await ready("gap");
    const producer = new TestProducer();
    const a = producer.batch(1, events(3, "a"));
    const dropped = producer.batch(1, events(3, "dropped")); // never stored: the bus gave up on it
    const c = producer.batch(1, events(3, "c"));
    await adapter.onBatch(a, live);
    await adapter.onBatch(c, live);
    // Late copies of earlier attempts, arriving after the mark moved past them, must not reorder the stream.
    await adapter.onBatch(a, live);
    await adapter.onBatch(dropped, live);
    const stored = await readAll(adapter, 1);
    expect(stored.map((event) => event.json)).toEqual([...a.events, ...c.events]);
    expect(sequences(stored)).toEqual([0, 1, 2, 6, 7, 8]);
  });

  it("refuses a continuation chunk whose predecessor is not stored (NETMESH_GAP, retryable) and stores nothing", async () => {
    const { prefix } = await ready("cont");
    const script = new Script(APPEND_SCRIPT);
    const producer = "00000000000000ab";
    const args = [streamKey(prefix, 2), dedupKey(prefix, 2, producer), "1000", "1", "1", "0", "", ""];
    args.push("1700000000000000", `${producer}:2:1000`, '{"orphan":true}');
    const failure = await script.run(harness.redis(), 2, args).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/^NETMESH_GAP /);
    const classified = classify(failure, "append", new Redactor([]));
    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.isRetryable).toBe(true);
    expect(await harness.redis().exists(streamKey(prefix, 2))).toBe(0);
    // The same chunk marked as a batch's first chunk (it may follow a gap) is accepted.
    args[4] = "0";
    expect(await script.run(harness.redis(), 2, args)).toBe(1);
    expect(await harness.redis().get(dedupKey(prefix, 2, producer))).toBe("1001");
  });

  it("a chunk failing inside its loop after storing part of it says so (notStored false), and sets the mark to what was stored", async () => {
    const { prefix } = await ready("partial");
    const script = new Script(APPEND_SCRIPT);
    const producer = "00000000000000ac";
    const call = (shard: number, claimed: number, given: number) => {
      // The chunk claims more events than it carries: the XADD of the first missing one fails.
      const args = [streamKey(prefix, shard), dedupKey(prefix, shard, producer), "0", String(claimed)];
      args.push("0", "0", "", "");
      for (let i = 0; i < given; i++)
        args.push("1700000000000000", `${producer}:${shard}:${i}`, `{"i":${i}}`);
      return script.run(harness.redis(), 2, args).then(
        () => undefined,
        (error: unknown) => error,
      );
    };
    const partial = await call(3, 3, 2);
    expect(partial).toBeInstanceOf(Error);
    expect(partlyStored(partial)).toBe(true);
    expect(await harness.redis().xlen(streamKey(prefix, 3))).toBe(2);
    expect(await harness.redis().get(dedupKey(prefix, 3, producer))).toBe("2");
    expect(classify(partial, "append", new Redactor([]), partlyStored(partial)).notStored).toBe(false);
    // Failing at its first event, the chunk stored nothing and says nothing of a part.
    const none = await call(4, 1, 0);
    expect(none).toBeInstanceOf(Error);
    expect(partlyStored(none)).toBe(false);
    expect(await harness.redis().exists(streamKey(prefix, 4))).toBe(0);
  });

  it("keys dedup on the producer: equal sequences of two producers are both stored", async () => {
    const { adapter } = await ready("producers");
    const one = new TestProducer();
    const two = new TestProducer();
    const batches = [one.batch(0, events(2, "one")), two.batch(0, events(2, "two"))];
    for (const batch of [...batches, ...batches]) await adapter.onBatch(batch, live);
    const stored = await readAll(adapter, 0);
    expect(stored.map((event) => event.json)).toEqual([...batches[0]!.events, ...batches[1]!.events]);
  });

  it("lets marks expire after dedupWindowMs, refreshed by every write; 'forever' never expires", async () => {
    const windowed = await ready("window", { dedupWindowMs: 60_000 });
    const producer = new TestProducer();
    await windowed.adapter.onBatch(producer.batch(0, events(2, "w")), live);
    const ttl = await harness.redis().pttl(dedupKey(windowed.prefix, 0, producer.producer));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const byDefault = await ready("default-window");
    await byDefault.adapter.onBatch(producer.batch(1, events(1, "d")), live);
    const defaultTtl = await harness.redis().pttl(dedupKey(byDefault.prefix, 1, producer.producer));
    expect(defaultTtl).toBeGreaterThan(86_000_000);
    expect(defaultTtl).toBeLessThanOrEqual(86_400_000);

    const forever = await ready("forever", { dedupWindowMs: "forever" });
    await forever.adapter.onBatch(producer.batch(2, events(1, "f")), live);
    expect(await harness.redis().pttl(dedupKey(forever.prefix, 2, producer.producer))).toBe(-1);
    // The stream itself never expires.
    expect(await harness.redis().pttl(streamKey(forever.prefix, 2))).toBe(-1);
  });
});

describe("a reply lost after the server applied the batch", () => {
  it("ioredis resends the in-flight script after reconnecting; the second run adds nothing", async () => {
    const cutter = await startReplyCutter(new URL(url).port === "" ? 6379 : Number(new URL(url).port));
    try {
      const { adapter, prefix } = await ready("lost-resend", { url: `redis://127.0.0.1:${cutter.port}` });
      const producer = new TestProducer();
      const batch = producer.batch(0, events(10, "lost"));
      cutter.cutNext();
      await adapter.onBatch(batch, live);
      expect(cutter.cuts).toBe(1);
      expect(cutter.scriptCalls).toBe(2); // applied, reply cut; resent and applied again
      expect(await harness.redis().xlen(streamKey(prefix, 0))).toBe(10);
      const stored = await readAll(adapter, 0);
      expect(sequences(stored)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    } finally {
      await cutter.close();
    }
  });

  it("without ioredis's resend the attempt times out, and the bus-style retry of the same batch adds nothing", async () => {
    const cutter = await startReplyCutter(new URL(url).port === "" ? 6379 : Number(new URL(url).port));
    try {
      const { adapter, prefix } = await ready("lost-retry", {
        url: `redis://127.0.0.1:${cutter.port}`,
        redisOptions: { autoResendUnfulfilledCommands: false },
        commandTimeoutMs: 500,
      });
      const producer = new TestProducer();
      const batch = producer.batch(0, events(10, "lost"));
      cutter.cutNext();
      const failure = await adapter.onBatch(batch, live).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(TransientError);
      expect(await harness.redis().xlen(streamKey(prefix, 0))).toBe(10); // it was applied all the same
      await adapter.onBatch(batch, live); // what the bus does next: the very same batch object
      expect(cutter.scriptCalls).toBe(2);
      expect(await harness.redis().xlen(streamKey(prefix, 0))).toBe(10);
      const stored = await readAll(adapter, 0);
      expect(stored.map((event) => event.json)).toEqual(batch.events);
    } finally {
      await cutter.close();
    }
  });
});
