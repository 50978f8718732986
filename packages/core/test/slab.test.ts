import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { BackpressureOption } from "../src/config.js";
import type { Batch } from "../src/contract/batch.js";
import type { PayloadForm } from "../src/contract/capabilities.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import type { IngestStatus } from "../src/stats.js";
import { ScriptedAdapter, liveSignal, readStore } from "./helpers.js";

/** An event whose JSON text is exactly 100 UTF-8 bytes. */
function event(i: number): { i: number; p: string } {
  const base = JSON.stringify({ i, p: "" }).length;
  return { i, p: "x".repeat(100 - base) };
}

/** A one-shard bus bounded at 1,024 bytes (10 such events) with room for 64 events by count. */
async function byteBoundBus(backpressure: BackpressureOption, declare: { payload: PayloadForm }) {
  const adapter = new ScriptedAdapter(undefined, undefined, declare);
  const bus = await createBus({
    adapter,
    shards: 1,
    ringCapacity: 64,
    ringBytes: 1024,
    backpressure,
    batch: { minSize: 1, maxSize: 64 },
  });
  return { bus, adapter };
}

function tally(statuses: IngestStatus[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

async function quiescent(bus: Awaited<ReturnType<typeof createBus>>) {
  await bus.flush();
  const stats = bus.stats();
  expect(stats.pending).toBe(0);
  expect(stats.bytesQueued).toBe(0);
  expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
  return stats;
}

const storedIds = async (adapter: ScriptedAdapter) =>
  (await readStore(adapter.store)).map((e) => (JSON.parse(e.json) as { i: number }).i);

for (const payload of ["bytes", "text"] as const) {
  /** The capability the adapters of this round declare: a slab ring for bytes, a text ring for texts. */
  const declare = { payload };
  /** What an event of `text` counts for in the ring: UTF-8 bytes for a slab, UTF-16 units for texts. */
  const sizeOf = (text: string) => (payload === "bytes" ? Buffer.byteLength(text, "utf8") : text.length);

  describe(`byte-bounded rings (payload ${payload})`, () => {
    it("stats() reports the bytes queued, per shard and in total", async () => {
      const { bus } = await byteBoundBus("drop-newest", declare);
      for (let i = 0; i < 7; i++) bus.ingest(event(i));
      const stats = bus.stats();
      expect(stats.bytesQueued).toBe(700);
      expect(stats.shards[0]).toMatchObject({
        queued: 7,
        bytesQueued: 700,
        byteCapacity: 1024,
        capacity: 64,
      });
      expect(stats.shards[0]!.fill).toBeCloseTo(700 / 1024);
      await quiescent(bus);
      await bus.shutdown();
    });

    it("drop-newest: refuses with 'full' at the byte bound, long before the event bound", async () => {
      const { bus, adapter } = await byteBoundBus("drop-newest", declare);
      const statuses = Array.from({ length: 15 }, (_, i) => bus.ingest(event(i)));
      expect(tally(statuses)).toEqual({ accepted: 10, full: 5 });
      const stats = await quiescent(bus);
      expect(stats).toMatchObject({ ingested: 10, dispatched: 10, dropped: 0, rejected: 5 });
      expect(await storedIds(adapter)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      await bus.shutdown();
    });

    it("drop-oldest: evicts as many of the oldest as the new event needs, counted one by one", async () => {
      const { bus, adapter } = await byteBoundBus("drop-oldest", declare);
      for (let i = 0; i < 10; i++) expect(bus.ingest(event(i))).toBe("accepted");
      // 300 bytes: three 100-byte events must go (1,000 − 300 + 300 ≤ 1,024).
      expect(bus.ingest({ i: 10, p: "y".repeat(300 - 16) })).toBe("accepted");
      expect(bus.stats().droppedBy.evicted).toBe(3);
      for (let i = 11; i < 20; i++) expect(bus.ingest(event(i))).toBe("accepted");
      const stats = await quiescent(bus);
      expect(stats.dropped).toBe(stats.droppedBy.evicted);
      const stored = await storedIds(adapter);
      expect(stored.at(-1)).toBe(19);
      expect(stats.dispatched).toBe(stored.length);
      expect(stats.ingested).toBe(20);
      await bus.shutdown();
    });

    it("fail-producer: batch ingest stops at the first event that finds the bytes full", async () => {
      const { bus, adapter } = await byteBoundBus("fail-producer", declare);
      const values = Array.from({ length: 25 }, (_, i) => event(i));
      let offset = 0;
      while (offset < values.length) {
        const accepted = bus.ingestMany(values.slice(offset));
        expect(accepted).toBe(Math.min(10, values.length - offset));
        offset += accepted;
        await bus.flush();
      }
      const stats = await quiescent(bus);
      expect(stats).toMatchObject({ ingested: 25, dispatched: 25, dropped: 0 });
      expect(await storedIds(adapter)).toEqual(values.map((v) => v.i));
      await bus.shutdown();
    });

    it("block: waiting calls wait for bytes to be freed and keep order", async () => {
      const { bus, adapter } = await byteBoundBus("block", declare);
      for (let i = 0; i < 10; i++) expect(bus.ingest(event(i))).toBe("accepted");
      expect(bus.ingest(event(-1))).toBe("full");
      const values = Array.from({ length: 200 }, (_, k) => event(10 + k));
      expect(await bus.ingestManyOrWait(values)).toBe(200);
      const stats = await quiescent(bus);
      expect(stats).toMatchObject({ ingested: 210, dispatched: 210, dropped: 0 });
      expect(await storedIds(adapter)).toEqual(Array.from({ length: 210 }, (_, k) => k));
      await bus.shutdown();
    });

    it("sample: samples once the queued bytes pass the threshold", async () => {
      const { bus } = await byteBoundBus({ mode: "sample", rate: 2, threshold: 0.5 }, declare);
      const statuses = Array.from({ length: 20 }, (_, i) => bus.ingest(event(i)));
      // 6 free (600 ≥ 512 from then on), then 1 in 2 until the 10th, then full and sampled alternate.
      expect(tally(statuses)).toEqual({ accepted: 10, sampled: 7, full: 3 });
      await quiescent(bus);
      await bus.shutdown();
    });

    it("refuses an event larger than the ring as tooLarge at ingest, in the ring's unit", async () => {
      const { bus, adapter } = await byteBoundBus("drop-oldest", declare);
      expect(bus.ingest({ p: "z".repeat(1100) })).toBe("tooLarge");
      expect(bus.ingestRaw(bus.prepare({ p: "z".repeat(1100) }))).toBe("tooLarge");
      // 602 UTF-16 units but 1,202 UTF-8 bytes: too large for a slab of 1,024 bytes, fits 1,024 units.
      const accented = JSON.stringify("é".repeat(600));
      expect(sizeOf(accented)).toBe(payload === "bytes" ? 1202 : 602);
      expect(bus.ingestRaw({ json: accented, hash: 1 })).toBe(payload === "bytes" ? "tooLarge" : "accepted");
      await bus.flush();
      const exact = { p: "z".repeat(1024 - 8) }; // exactly 1,024 bytes and units
      expect(bus.ingest(exact)).toBe("accepted");
      const stats = await quiescent(bus);
      const accepted = payload === "bytes" ? 1 : 2;
      expect(stats.rejectedBy.tooLarge).toBe(4 - accepted);
      expect(stats).toMatchObject({ ingested: accepted, dispatched: accepted, dropped: 0 });
      const stored = (await readStore(adapter.store)).map((e) => e.json);
      expect(stored).toEqual(
        payload === "bytes" ? [JSON.stringify(exact)] : [accented, JSON.stringify(exact)],
      );
      await bus.shutdown();
    });

    it("wraps through many slab chunks under every mode with exact accounting", async () => {
      for (const mode of ["drop-oldest", "drop-newest", "fail-producer", "block", "sample"] as const) {
        const store = new MemoryAdapter();
        await store.init();
        const adapter: ScriptedAdapter = new ScriptedAdapter(
          [
            async (batch) => {
              await new Promise((resolve) => setTimeout(resolve, 1));
              return store.onBatch(batch, liveSignal);
            },
          ],
          store.store,
          declare,
        );
        const backpressure: BackpressureOption = mode === "sample" ? { mode, rate: 3, threshold: 0.5 } : mode;
        const bus = await createBus({
          adapter,
          shards: 2,
          ringCapacity: 16,
          ringBytes: 2048,
          backpressure,
          batch: { minSize: 1, maxSize: 16, maxDelayMs: 1 },
        });
        let accepted = 0;
        for (let round = 0; round < 60; round++) {
          for (let k = 0; k < 20; k++) {
            const i = round * 20 + k;
            const text = JSON.stringify({ i, p: "é€😀".repeat(i % 23) });
            if (bus.ingestRaw({ json: text, hash: i * 2654435761 }) === "accepted") accepted++;
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        const stats = await quiescent(bus);
        const stored = await readStore(adapter.store);
        expect(stats.dispatched).toBe(stored.length);
        expect(stats.dropped).toBe(stats.droppedBy.evicted);
        // What was stored reads back exactly as written, in per-shard order.
        for (const e of stored) {
          const { i, p } = JSON.parse(e.json) as { i: number; p: string };
          expect(p).toBe("é€😀".repeat(i % 23));
        }
        for (const shard of [0, 1]) {
          const ids = stored
            .filter((e) => e.shard === shard)
            .map((e) => (JSON.parse(e.json) as { i: number }).i);
          expect(ids).toEqual([...ids].sort((a, b) => a - b));
        }
        expect(accepted).toBeGreaterThan(0);
        await bus.shutdown();
      }
    });

    it("keeps a batch's bytes intact for an attempt the bus stopped waiting for", async () => {
      const late: string[][] = [];
      let calls = 0;
      const inner = new MemoryAdapter();
      const adapter = new ScriptedAdapter(
        [
          async (batch: Batch) => {
            if (calls++ === 0) {
              // Abandoned after adapterTimeoutMs; reads its batch long after the bus moved on.
              await new Promise((resolve) => setTimeout(resolve, 150));
              const { data, offsets } = batch.bytes();
              const texts: string[] = [];
              for (let i = 0; i < batch.size; i++) {
                texts.push(Buffer.from(data.subarray(offsets[i], offsets[i + 1])).toString("utf8"));
              }
              late.push(texts);
              return;
            }
            return inner.onBatch(batch, liveSignal);
          },
        ],
        undefined,
        declare,
      );
      await inner.init();
      const bus = await createBus({
        adapter,
        shards: 1,
        ringCapacity: 64,
        ringBytes: 1024,
        adapterTimeoutMs: 30,
        retryBaseDelayMs: 1,
        retryMaxDelayMs: 2,
        backpressure: "block",
        batch: { minSize: 1, maxSize: 64, maxDelayMs: 0 },
      });
      const first = Array.from({ length: 10 }, (_, i) => event(i));
      for (const value of first) bus.ingest(value);
      // While the first attempt sleeps, many more events pass through the same 1 KiB ring.
      const more = Array.from({ length: 100 }, (_, i) => event(100 + i));
      expect(await bus.ingestManyOrWait(more)).toBe(100);
      await bus.flush();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(late).toHaveLength(1);
      expect(late[0]).toEqual(first.slice(0, late[0]!.length).map((v) => JSON.stringify(v)));
      await bus.shutdown();
    });
  });

  describe(`events as bytes (payload ${payload})`, () => {
    /** Any string: BMP, astral (surrogate pairs) and lone surrogates mixed. */
    const anyText = fc.string({
      unit: fc.oneof(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }),
        fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
        fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
      ),
      maxLength: 60,
    });
    const wellFormed = (text: string) => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

    it("ingestRaw stores well-formed text byte for byte and refuses a lone surrogate per event (property)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(anyText, { minLength: 1, maxLength: 40 }), async (texts) => {
          const adapter = new ScriptedAdapter(undefined, undefined, declare);
          const bus = await createBus({ adapter, shards: 2, ringBytes: 4096, backpressure: "block" });
          const statuses = texts.map((json, i) => bus.ingestRaw({ json, hash: i }));
          for (const [i, text] of texts.entries()) {
            expect(statuses[i]).toBe(wellFormed(text) ? "accepted" : "invalidText");
          }
          const stats = await quiescent(bus);
          const kept = texts.filter(wellFormed);
          expect(stats.rejectedBy.invalidText).toBe(texts.length - kept.length);
          expect(stats.dispatched).toBe(kept.length);
          const stored = await readStore(adapter.store);
          const byHashOrder = [...stored].sort((a, b) => a.shard - b.shard || Number(a.id) - Number(b.id));
          expect(byHashOrder.map((e) => e.json).sort()).toEqual([...kept].sort());
          await bus.shutdown();
        }),
        { numRuns: 60 },
      );
    });

    it("ingest(object) and prepare() round-trip any string value, lone surrogates escaped by JSON (property)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(anyText, { minLength: 1, maxLength: 40 }), async (values) => {
          const adapter = new ScriptedAdapter(undefined, undefined, declare);
          const bus = await createBus({ adapter, shards: 1, ringBytes: 4096, backpressure: "block" });
          for (const [i, text] of values.entries()) {
            const status = i % 2 === 0 ? bus.ingest({ text }) : bus.ingestRaw(bus.prepare({ text }));
            expect(status).toBe("accepted");
          }
          await quiescent(bus);
          const stored = await readStore(adapter.store);
          expect(stored.map((e) => e.json)).toEqual(values.map((text) => JSON.stringify({ text })));
          expect(stored.map((e) => (JSON.parse(e.json) as { text: string }).text)).toEqual(values);
          await bus.shutdown();
        }),
        { numRuns: 60 },
      );
    });

    it("hands adapters bytes that decode to exactly the texts, and texts decoded once per batch", async () => {
      const seen: { bytes: string[]; events: readonly string[]; same: boolean }[] = [];
      const adapter = new ScriptedAdapter(
        [
          async (batch) => {
            const { data, offsets, replaced } = batch.bytes();
            expect(replaced).toEqual([]);
            const bytes: string[] = [];
            for (let i = 0; i < batch.size; i++) {
              bytes.push(Buffer.from(data.subarray(offsets[i], offsets[i + 1])).toString("utf8"));
            }
            const events = batch.events;
            seen.push({ bytes, events, same: events === batch.events });
          },
        ],
        undefined,
        declare,
      );
      const bus = await createBus({ adapter, shards: 1 });
      const texts = ['{"a":"ascii"}', '{"b":"é€"}', '{"c":"😀 astral"}', "[1,2,3]"];
      for (const json of texts) bus.ingestRaw({ json, hash: 0 });
      await bus.flush();
      // Prepared events (queued by reference), alone and mixed with slab events in one flush.
      for (const json of texts) bus.ingestRaw(bus.prepare(JSON.parse(json)));
      await bus.flush();
      for (const [i, json] of texts.entries()) {
        bus.ingestRaw(i % 2 === 0 ? bus.prepare(JSON.parse(json)) : { json, hash: 0 });
      }
      await bus.flush();
      expect(seen.flatMap((s) => s.bytes)).toEqual([...texts, ...texts, ...texts]);
      expect(seen.flatMap((s) => s.events)).toEqual([...texts, ...texts, ...texts]);
      expect(seen.every((s) => s.same)).toBe(true);
      expect(bus.stats().bytesQueued).toBe(0);
      await bus.shutdown();
    });

    it("evicts prepared and slab events alike at the byte bound", async () => {
      const { bus, adapter } = await byteBoundBus("drop-oldest", declare);
      for (let i = 0; i < 30; i++) {
        expect(i % 3 === 0 ? bus.ingest(event(i)) : bus.ingestRaw(bus.prepare(event(i)))).toBe("accepted");
      }
      expect(bus.stats().bytesQueued).toBeLessThanOrEqual(1024);
      const stats = await quiescent(bus);
      const stored = await storedIds(adapter);
      expect(stats.dispatched).toBe(stored.length);
      expect(stats.ingested).toBe(30);
      expect(stats.droppedBy.evicted).toBe(30 - stored.length);
      expect(stored).toEqual([...stored].sort((a, b) => a - b));
      expect(stored.at(-1)).toBe(29);
      await bus.shutdown();
    });
  });
}
