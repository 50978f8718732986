import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { BackpressureOption } from "../src/config.js";
import type { IngestStatus } from "../src/stats.js";
import { ScriptedAdapter, liveSignal, readStore } from "./helpers.js";

/** A one-shard bus with an 8-slot ring whose pump cannot run until the test yields. */
async function tinyBus(backpressure: BackpressureOption, ringCapacity = 8) {
  const adapter = new ScriptedAdapter();
  const bus = await createBus({
    adapter,
    shards: 1,
    ringCapacity,
    backpressure,
    batch: { minSize: 1, maxSize: 4 },
  });
  return { bus, adapter };
}

function tally(statuses: IngestStatus[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

async function settle(bus: Awaited<ReturnType<typeof createBus>>) {
  await bus.flush();
  const stats = bus.stats();
  expect(stats.pending).toBe(0);
  expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
  return stats;
}

describe("backpressure", () => {
  it("drop-oldest evicts exactly one event per overflowing push and keeps the newest", async () => {
    const { bus, adapter } = await tinyBus("drop-oldest");
    const statuses = Array.from({ length: 20 }, (_, i) => bus.ingest({ i }));
    expect(tally(statuses)).toEqual({ accepted: 20 });
    const stats = await settle(bus);
    expect(stats).toMatchObject({ ingested: 20, dispatched: 8, dropped: 12, rejected: 0 });
    expect(stats.droppedBy.evicted).toBe(12);
    const stored = (await readStore(adapter.store)).map((e) => JSON.parse(e.json).i);
    expect(stored).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    await bus.shutdown();
  });

  it("drop-newest rejects with 'full' and batch ingest carries on past rejections", async () => {
    const { bus, adapter } = await tinyBus("drop-newest");
    const statuses = Array.from({ length: 10 }, (_, i) => bus.ingest({ i }));
    expect(tally(statuses)).toEqual({ accepted: 8, full: 2 });
    expect(bus.ingestMany([{ i: 10 }, { i: 11 }])).toBe(0);
    const stats = await settle(bus);
    expect(stats).toMatchObject({ ingested: 8, dispatched: 8, dropped: 0, rejected: 4 });
    expect(stats.rejectedBy.full).toBe(4);
    expect((await readStore(adapter.store)).map((e) => JSON.parse(e.json).i)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    await bus.shutdown();
  });

  it("fail-producer stops batch ingest at the first full ring so the producer can resume", async () => {
    const { bus, adapter } = await tinyBus("fail-producer");
    const values = Array.from({ length: 20 }, (_, i) => ({ i }));
    const first = bus.ingestMany(values);
    expect(first).toBe(8);
    expect(bus.stats().rejectedBy.full).toBe(1);
    await bus.flush();
    const second = bus.ingestMany(values.slice(first));
    expect(second).toBe(8);
    await bus.flush();
    expect(bus.ingestMany(values.slice(first + second))).toBe(4);
    const stats = await settle(bus);
    expect(stats).toMatchObject({ ingested: 20, dispatched: 20, dropped: 0 });
    expect((await readStore(adapter.store)).map((e) => JSON.parse(e.json).i)).toEqual(values.map((v) => v.i));
    await bus.shutdown();
  });

  it("block: the sync call reports 'full', the waiting calls wait for room and keep order", async () => {
    const { bus, adapter } = await tinyBus("block");
    for (let i = 0; i < 8; i++) expect(bus.ingest({ i })).toBe("accepted");
    expect(bus.ingest({ i: -1 })).toBe("full");
    expect(await bus.ingestOrWait({ i: 8 })).toBe("accepted");
    const values = Array.from({ length: 200 }, (_, k) => ({ i: 9 + k }));
    expect(await bus.ingestManyOrWait(values)).toBe(200);
    const stats = await settle(bus);
    expect(stats).toMatchObject({ ingested: 209, dispatched: 209, dropped: 0 });
    expect(stats.rejectedBy.full).toBe(1);
    const stored = (await readStore(adapter.store)).map((e) => JSON.parse(e.json).i);
    expect(stored).toEqual(Array.from({ length: 209 }, (_, k) => k));
    await bus.shutdown();
  });

  it("sample admits exactly 1 in `rate` under pressure, and everything below the threshold", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({
      adapter,
      shards: 1,
      ringCapacity: 64,
      backpressure: { mode: "sample", rate: 4, threshold: 0.25 },
      batch: { minSize: 1, maxSize: 64 },
    });
    const statuses = Array.from({ length: 16 + 4 * 40 }, (_, i) => bus.ingest({ i }));
    // 16 below the threshold, then one admitted per 4 while the ring holds 16..63 (48 admissions).
    expect(statuses.slice(0, 16).every((s) => s === "accepted")).toBe(true);
    const underPressure = tally(statuses.slice(16));
    expect(underPressure).toEqual({ accepted: 40, sampled: 120 });
    const stats = await settle(bus);
    expect(stats).toMatchObject({ ingested: 56, dispatched: 56, dropped: 0 });
    expect(stats.rejectedBy.sampled).toBe(120);
    await bus.shutdown();
  });

  it("sample rejects with 'full' when even a sampled-in event finds no room", async () => {
    const { bus } = await tinyBus({ mode: "sample", rate: 2, threshold: 0.5 });
    const statuses = Array.from({ length: 20 }, (_, i) => bus.ingest({ i }));
    // 4 free admissions, then 1 in 2 until the 8 slots are full (8 more events), then full/sampled alternate.
    expect(tally(statuses)).toEqual({ accepted: 8, sampled: 8, full: 4 });
    await settle(bus);
    await bus.shutdown();
  });
});

describe("waiting ingest of raw events", () => {
  it("ingestRawOrWait and ingestRawManyOrWait wait for room and keep order", async () => {
    const { bus, adapter } = await tinyBus("block");
    const raws = Array.from({ length: 100 }, (_, i) => bus.prepare({ i }, { key: "k" }));
    for (let i = 0; i < 8; i++) expect(bus.ingestRaw(raws[i]!)).toBe("accepted");
    expect(await bus.ingestRawOrWait(raws[8]!)).toBe("accepted");
    expect(await bus.ingestRawManyOrWait(raws.slice(9))).toBe(91);
    const stats = await settle(bus);
    expect(stats).toMatchObject({ ingested: 100, dispatched: 100, rejected: 0 });
    expect((await readStore(adapter.store)).map((e) => JSON.parse(e.json).i)).toEqual(raws.map((_, i) => i));
    await bus.shutdown();
  });

  it("does not warn about listeners with many shards dispatching at once", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    const adapter = new ScriptedAdapter([
      (batch) =>
        new Promise((resolve) => setTimeout(() => resolve(adapter.inner.onBatch(batch, liveSignal)), 20)),
    ]);
    const bus = await createBus({ adapter, shards: 16, batch: { minSize: 1, maxSize: 10 } });
    for (let i = 0; i < 1000; i++) bus.ingest({ i });
    await bus.shutdown();
    await new Promise((resolve) => setImmediate(resolve));
    process.off("warning", onWarning);
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });
});

describe("batch ingest's accepted prefix", () => {
  const big = { p: "z".repeat(2_000) }; // over ringBytes (1,024 units): refused as tooLarge
  const loneSurrogate = { json: '{"s":"\uD800"}', hash: 1 }; // refused as invalidText

  /** A one-shard bus whose rings hold at most 8 events and 1,024 units. */
  async function smallBus(backpressure: BackpressureOption) {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter, shards: 1, ringCapacity: 8, ringBytes: 1024, backpressure });
    return { bus, adapter };
  }

  it.each(["fail-producer", "block"] as const)(
    "%s: ingestMany stops at an event refused as tooLarge, so the count is the accepted prefix",
    async (mode) => {
      const { bus, adapter } = await smallBus(mode);
      const values = [{ i: 0 }, { i: 1 }, big, { i: 3 }];
      const accepted = bus.ingestMany(values);
      expect(accepted).toBe(2);
      expect(bus.ingest(values[accepted])).toBe("tooLarge"); // what the producer learns by retrying it alone
      expect(bus.ingestMany(values.slice(accepted + 1))).toBe(1); // and resumes past it
      await bus.flush();
      expect((await readStore(adapter.store)).map((e) => JSON.parse(e.json).i)).toEqual([0, 1, 3]);
      expect(bus.stats().rejectedBy.tooLarge).toBe(2);
      await bus.shutdown();
    },
  );

  it.each(["fail-producer", "block"] as const)(
    "%s: ingestRawMany stops at an event refused as invalidText",
    async (mode) => {
      const { bus, adapter } = await smallBus(mode);
      const raws = [{ json: '{"i":0}', hash: 1 }, loneSurrogate, { json: '{"i":2}', hash: 1 }];
      expect(bus.ingestRawMany(raws)).toBe(1);
      await bus.flush();
      expect((await readStore(adapter.store)).map((e) => JSON.parse(e.json).i)).toEqual([0]);
      expect(bus.stats().rejectedBy).toMatchObject({ invalidText: 1 });
      await bus.shutdown();
    },
  );

  it("drop-newest carries on past any refusal: the count is not a prefix there", async () => {
    const { bus, adapter } = await smallBus("drop-newest");
    expect(bus.ingestMany([{ i: 0 }, big, { i: 2 }])).toBe(2);
    expect(bus.ingestRawMany([loneSurrogate, { json: '{"i":3}', hash: 1 }])).toBe(1);
    await bus.flush();
    expect((await readStore(adapter.store)).map((e) => JSON.parse(e.json).i)).toEqual([0, 2, 3]);
    await bus.shutdown();
  });
});
