import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventRing } from "../src/shard/ring.js";

describe("EventRing", () => {
  it("uses every slot and refuses the push past capacity", () => {
    const ring = new EventRing(4);
    for (let i = 0; i < 4; i++) expect(ring.push(`e${i}`, i)).toBe(true);
    expect(ring.push("e4", 4)).toBe(false);
    expect(ring.length).toBe(4);
    expect(ring.take(10).texts).toEqual(["e0", "e1", "e2", "e3"]);
  });

  it("evicts the oldest event first", () => {
    const ring = new EventRing(2);
    ring.push("a", 1);
    ring.push("b", 2);
    expect(ring.evictOldest()).toBe(true);
    expect(ring.oldestTimestamp()).toBe(2);
    ring.push("c", 3);
    expect(ring.take(2).texts).toEqual(["b", "c"]);
    expect(ring.evictOldest()).toBe(false);
  });

  it("takes across the wrap-around with timestamps aligned", () => {
    const ring = new EventRing(8);
    for (let i = 0; i < 6; i++) ring.push(`x${i}`, i);
    ring.take(5);
    for (let i = 6; i < 13; i++) ring.push(`x${i}`, i);
    const { texts, timestamps } = ring.take(8);
    expect(texts).toEqual(["x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12"]);
    expect([...timestamps]).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it("behaves like an unbounded FIFO model capped at capacity (property)", () => {
    type Op = { kind: "push" } | { kind: "take"; n: number } | { kind: "evict" };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.constant<Op>({ kind: "push" }),
      fc.integer({ min: 0, max: 9 }).map((n): Op => ({ kind: "take", n })),
      fc.constant<Op>({ kind: "evict" }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 300 }), (log2, ops) => {
        const capacity = 2 ** log2;
        const ring = new EventRing(capacity);
        const model: [string, number][] = [];
        let counter = 0;
        for (const o of ops) {
          if (o.kind === "push") {
            const ok = ring.push(`v${counter}`, counter);
            expect(ok).toBe(model.length < capacity);
            if (ok) model.push([`v${counter}`, counter]);
            counter++;
          } else if (o.kind === "evict") {
            expect(ring.evictOldest()).toBe(model.length > 0);
            model.shift();
          } else {
            const expected = model.splice(0, o.n);
            const { texts, timestamps } = ring.take(o.n);
            expect(texts).toEqual(expected.map(([t]) => t));
            expect([...timestamps]).toEqual(expected.map(([, s]) => s));
          }
          expect(ring.length).toBe(model.length);
          expect(ring.oldestTimestamp()).toBe(model[0]?.[1]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
