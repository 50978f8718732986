import { TestProducer } from "@netmesh/adapter-testkit";
import { describe, expect, it } from "vitest";
import { dedupKey, streamKey } from "../src/index.js";
import { readAll, sleep } from "./support/helpers.js";
import { useAdapters } from "./support/adapters.js";

const live = new AbortController().signal;

const harness = useAdapters("trim");
const ready = (settings: { maxLength?: number; maxAgeMs?: number }) => harness.ready(settings);

const texts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `{"${tag}":${i}}`);

describe("approximate trimming", () => {
  it("maxLength keeps about that many entries (whole radix nodes are dropped), always the newest", async () => {
    const { adapter, prefix } = await ready({ maxLength: 1_000 });
    const producer = new TestProducer();
    const batches = Array.from({ length: 10 }, (_, b) => producer.batch(0, texts(500, `b${b}`)));
    for (const batch of batches) await adapter.onBatch(batch, live);
    const length = await harness.redis().xlen(streamKey(prefix, 0));
    expect(length).toBeGreaterThanOrEqual(1_000);
    expect(length).toBeLessThanOrEqual(1_100); // at most one node (100 entries by default) over
    const stored = await readAll(adapter, 0);
    expect(stored.map((event) => event.json)).toEqual(
      batches.flatMap((batch) => batch.events).slice(-length),
    );
    // Trimming never touches the dedup mark: a retry of a trimmed batch still adds nothing.
    await adapter.onBatch(batches[0]!, live);
    expect(await harness.redis().xlen(streamKey(prefix, 0))).toBe(length);
    expect(await harness.redis().get(dedupKey(prefix, 0, producer.producer))).toBe("5000");
  });

  it("maxAgeMs drops entries older than the window (by stream id time), keeps the recent ones", async () => {
    const { adapter } = await ready({ maxAgeMs: 300 });
    const producer = new TestProducer();
    const old = producer.batch(1, texts(1_000, "old"));
    await adapter.onBatch(old, live);
    await sleep(450);
    const recent = producer.batch(1, texts(5, "new"));
    await adapter.onBatch(recent, live);
    const stored = await readAll(adapter, 1);
    // Approximate: Redis drops whole nodes only, so a few old entries may remain in a partly old node.
    expect(stored.length).toBeLessThan(200);
    expect(stored.slice(-5).map((event) => event.json)).toEqual(recent.events);
  });

  it("a maxAgeMs reaching back before the epoch trims nothing, and every batch is stored without error", async () => {
    const { adapter, prefix } = await ready({ maxAgeMs: 100 * 365 * 86_400_000 });
    const producer = new TestProducer();
    // XTRIM MINID refuses a negative threshold ("Invalid stream ID"), which would fail each batch after storing it.
    await adapter.onBatch(producer.batch(0, texts(3, "a")), live);
    await adapter.onBatch(producer.batch(0, texts(2, "b")), live);
    expect(await harness.redis().xlen(streamKey(prefix, 0))).toBe(5);
  });
});
