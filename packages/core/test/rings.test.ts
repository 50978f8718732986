import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PreparedEvent } from "../src/ingest/prepared-event.js";
import type { ShardRing, SlabRun, TakenRun } from "../src/shard/shard-ring.js";
import { SlabRing } from "../src/shard/slab-ring.js";
import { TextRing } from "../src/shard/text-ring.js";

/** Stages and commits a text if both bounds have room; returns whether it was queued. */
function push(ring: ShardRing, text: string, timestamp: number): boolean {
  const length = ring.stage(text);
  if (!ring.hasRoom(length)) return false;
  ring.commit(length, timestamp);
  return true;
}

/** Queues a prepared event (by reference) if both bounds have room; returns whether it was queued. */
function pushPrepared(ring: ShardRing, text: string, timestamp: number): boolean {
  const event = new PreparedEvent(text, 0, true);
  const length = ring.stage(event);
  expect(length).toBe(ring.unit === "utf8" ? event.utf8.length : text.length);
  if (!ring.hasRoom(length)) return false;
  ring.commit(length, timestamp);
  return true;
}

/** The texts of a run, decoded from its bytes (or, for prepared events, from theirs). */
function textsOf(run: TakenRun | undefined): string[] {
  if (run === undefined) return [];
  if (run.kind === "text") return run.texts;
  if (run.kind === "prepared") {
    return run.prepared.map((event) => Buffer.from(event.utf8).toString("utf8"));
  }
  const texts: string[] = [];
  for (let i = 0; i + 1 < run.offsets.length; i++) {
    texts.push(run.data.toString("utf8", run.offsets[i], run.offsets[i + 1]));
  }
  return texts;
}

describe("SlabRing", () => {
  it("uses every slot and refuses the push past capacity", () => {
    const ring = new SlabRing(4, 1 << 20);
    for (let i = 0; i < 4; i++) expect(push(ring, `e${i}`, i)).toBe(true);
    expect(push(ring, "e4", 4)).toBe(false);
    expect(ring.length).toBe(4);
    expect(ring.bytes).toBe(8);
    expect(textsOf(ring.take(10))).toEqual(["e0", "e1", "e2", "e3"]);
    expect(ring.bytes).toBe(0);
  });

  it("is full at the byte bound before the event bound, and an evicted event makes room", () => {
    const ring = new SlabRing(64, 1024);
    const text = "x".repeat(100);
    for (let i = 0; i < 10; i++) expect(push(ring, text, i)).toBe(true);
    expect(ring.bytes).toBe(1000);
    expect(push(ring, text, 10)).toBe(false);
    expect(push(ring, "y".repeat(24), 10)).toBe(true); // exactly 1,024 bytes
    expect(push(ring, "z", 11)).toBe(false);
    expect(ring.evictOldest()).toBe(true);
    expect(push(ring, text, 12)).toBe(true);
    expect(ring.bytes).toBe(1024);
    // The last event went to a second chunk (the first is physically full): two runs.
    const taken = [...textsOf(ring.take(64)), ...textsOf(ring.take(64))];
    expect(taken).toEqual([...Array(9).fill(text), "y".repeat(24), text]);
    expect(ring.length).toBe(0);
  });

  it("evicts the oldest event first", () => {
    const ring = new SlabRing(2, 1024);
    push(ring, "a", 1);
    push(ring, "b", 2);
    expect(ring.evictOldest()).toBe(true);
    expect(ring.oldestTimestamp()).toBe(2);
    push(ring, "c", 3);
    expect(textsOf(ring.take(2))).toEqual(["b", "c"]);
    expect(ring.evictOldest()).toBe(false);
  });

  it("takes across the slot wrap-around with timestamps aligned", () => {
    const ring = new SlabRing(8, 1 << 20);
    for (let i = 0; i < 6; i++) push(ring, `x${i}`, i);
    ring.take(5);
    for (let i = 6; i < 13; i++) push(ring, `x${i}`, i);
    const run = ring.take(8)!;
    expect(textsOf(run)).toEqual(["x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12"]);
    expect([...run.timestamps]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it("cuts a batch where the slab chunk ends, and never reuses a chunk a batch still reads", () => {
    // 1 KiB ring → 1 KiB chunks (the chunk is never larger than the ring).
    const ring = new SlabRing(64, 1024);
    const text = (i: number) => `${String(i).padStart(3, "0")}${"a".repeat(97)}`; // 100 bytes
    for (let i = 0; i < 10; i++) push(ring, text(i), i);
    const first = ring.take(64) as SlabRun;
    expect(textsOf(first)).toEqual(Array.from({ length: 10 }, (_, i) => text(i)));
    // The first batch is in flight: new events go to another chunk, its bytes stay intact.
    for (let i = 10; i < 20; i++) push(ring, text(i), i);
    expect(textsOf(first)).toEqual(Array.from({ length: 10 }, (_, i) => text(i)));
    const second = ring.take(64) as SlabRun;
    expect(second.data.buffer).not.toBe(first.data.buffer);
    ring.release(first);
    // Released and drained, the first chunk is the spare: the next chunk switch reuses it.
    for (let i = 20; i < 30; i++) push(ring, text(i), i);
    expect(textsOf(second)).toEqual(Array.from({ length: 10 }, (_, i) => text(10 + i)));
    const third = ring.take(64) as SlabRun;
    expect(third.data.buffer).toBe(first.data.buffer);
    expect(textsOf(third)).toEqual(Array.from({ length: 10 }, (_, i) => text(20 + i)));
  });

  it("gives an event larger than a chunk a chunk of its own", () => {
    const ring = new SlabRing(16, 64 * 1024); // 16 KiB chunks
    push(ring, "s", 0);
    const big = "é".repeat(20_000); // 40,000 bytes
    expect(push(ring, big, 1)).toBe(true);
    push(ring, "t", 2);
    expect(textsOf(ring.take(16))).toEqual(["s"]);
    expect(textsOf(ring.take(16))).toEqual([big]);
    expect(textsOf(ring.take(16))).toEqual(["t"]);
  });
});

/** Both rings, with how each measures a text: UTF-8 bytes for the slab, UTF-16 units for texts. */
const RINGS: [string, (capacity: number, size: number) => ShardRing, (text: string) => number][] = [
  ["SlabRing", (capacity, size) => new SlabRing(capacity, size), (text) => Buffer.byteLength(text, "utf8")],
  ["TextRing", (capacity, size) => new TextRing(capacity, size), (text) => text.length],
];

describe("both rings", () => {
  for (const [name, makeRing, sizeOf] of RINGS) {
    it(`${name} behaves like a FIFO model bounded in events and size, bytes intact until released (property)`, () => {
      type Op =
        | { kind: "push"; text: string; prepared: boolean }
        | { kind: "take"; n: number }
        | { kind: "release" }
        | { kind: "evict" };
      const op: fc.Arbitrary<Op> = fc.oneof(
        {
          weight: 4,
          arbitrary: fc
            .record({ text: fc.string({ unit: "grapheme", maxLength: 40 }), prepared: fc.boolean() })
            .map(({ text, prepared }): Op => ({ kind: "push", text, prepared })),
        },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map((n): Op => ({ kind: "take", n })) },
        { weight: 1, arbitrary: fc.constant<Op>({ kind: "release" }) },
        { weight: 1, arbitrary: fc.constant<Op>({ kind: "evict" }) },
      );
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1024, max: 4096 }),
          fc.array(op, { maxLength: 400 }),
          (log2, byteCapacity, ops) => {
            const capacity = 2 ** log2;
            const ring = makeRing(capacity, byteCapacity);
            const model: [string, number][] = [];
            const inFlight: { run: TakenRun; texts: string[] }[] = [];
            let counter = 0;
            let bytes = 0;
            for (const o of ops) {
              if (o.kind === "push") {
                const length = sizeOf(o.text);
                const ok = o.prepared ? pushPrepared(ring, o.text, counter) : push(ring, o.text, counter);
                expect(ok).toBe(model.length < capacity && bytes + length <= byteCapacity);
                if (ok) {
                  model.push([o.text, counter]);
                  bytes += length;
                }
                counter++;
              } else if (o.kind === "evict") {
                expect(ring.evictOldest()).toBe(model.length > 0);
                const gone = model.shift();
                if (gone) bytes -= sizeOf(gone[0]);
              } else if (o.kind === "take") {
                const run = ring.take(o.n);
                if (o.n === 0 || model.length === 0) {
                  expect(run).toBeUndefined();
                  continue;
                }
                const texts = textsOf(run);
                // A run is a non-empty prefix of the queue (it may stop at a chunk's end, or where the
                // kind of event changes: slab or prepared).
                expect(texts.length).toBeGreaterThan(0);
                expect(texts.length).toBeLessThanOrEqual(o.n);
                const expected = model.splice(0, texts.length);
                expect(texts).toEqual(expected.map(([t]) => t));
                expect([...run!.timestamps]).toEqual(expected.map(([, s]) => s));
                for (const t of texts) bytes -= sizeOf(t);
                inFlight.push({ run: run!, texts });
              } else {
                const oldest = inFlight.shift();
                if (oldest) ring.release(oldest.run);
              }
              expect(ring.length).toBe(model.length);
              expect(ring.bytes).toBe(bytes);
              expect(ring.oldestTimestamp()).toBe(model[0]?.[1]);
              // Nothing written since overwrote the bytes of a batch not yet released.
              for (const { run, texts } of inFlight) expect(textsOf(run)).toEqual(texts);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});

describe("TextRing", () => {
  it("counts UTF-16 units, queues the strings themselves and takes exactly what is asked across the wrap", () => {
    const ring = new TextRing(4, 10);
    expect(push(ring, "ab", 1)).toBe(true);
    expect(push(ring, "é€", 2)).toBe(true); // 2 units (5 UTF-8 bytes)
    expect(push(ring, "😀", 3)).toBe(true); // a surrogate pair: 2 units
    expect(ring.bytes).toBe(6);
    expect(push(ring, "12345", 4)).toBe(false); // 11 units > 10
    expect(textsOf(ring.take(2))).toEqual(["ab", "é€"]);
    expect(push(ring, "xyz", 5)).toBe(true);
    expect(push(ring, "w", 6)).toBe(true);
    expect(ring.evictOldest()).toBe(true); // "😀"
    expect(ring.bytes).toBe(4);
    const run = ring.take(10);
    expect(textsOf(run)).toEqual(["xyz", "w"]);
    expect([...run!.timestamps]).toEqual([5, 6]);
    expect(ring.bytes).toBe(0);
    expect(ring.take(1)).toBeUndefined();
  });
});

describe("PreparedEvent", () => {
  it("routes by exactly its hash, kept as two small integers in the object (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.boolean(), (hash, keyed) => {
        const event = new PreparedEvent('{"a":1}', hash, keyed);
        expect(event.hash).toBe(hash);
        expect(event.routingHash).toBe(hash);
        expect(event.keyed).toBe(keyed);
      }),
    );
  });
});
