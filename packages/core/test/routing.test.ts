import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadRoutingHasher } from "../src/ingest/hashing.js";
import { reduceHash } from "../src/shard/routing.js";

describe("reduceHash (multiply-shift)", () => {
  it("maps hash 0 to shard 0 and the largest hash to the last shard", () => {
    expect(reduceHash(0, 7)).toBe(0);
    expect(reduceHash(0xffffffff, 7)).toBe(6);
    expect(reduceHash(0xffffffff, 65535)).toBe(65534);
  });

  it("is always in [0, n) for any number, even garbage (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer(), fc.double(), fc.constant(Number.NaN)),
        fc.integer({ min: 1, max: 65535 }),
        (hash, n) => {
          const shard = reduceHash(hash, n);
          expect(Number.isInteger(shard)).toBe(true);
          expect(shard).toBeGreaterThanOrEqual(0);
          expect(shard).toBeLessThan(n);
        },
      ),
    );
  });

  it("is monotone in the hash and equals floor(hash * n / 2^32) (property)", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        fc.nat({ max: 0xffffffff }),
        fc.integer({ min: 1, max: 65535 }),
        (a, b, n) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(reduceHash(lo, n)).toBeLessThanOrEqual(reduceHash(hi, n));
          expect(reduceHash(a, n)).toBe(Math.floor((a * n) / 2 ** 32));
        },
      ),
    );
  });

  it("spreads hashed keys evenly over shards", async () => {
    const hasher = await loadRoutingHasher();
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 80_000; i++) counts[reduceHash(hasher.hash(`session-${i}`), 8)]!++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });
});

describe("routing hash", () => {
  it("is XXH32 with seed 0: pinned vectors never change across releases", async () => {
    const { hash } = await loadRoutingHasher();
    // Reference vectors of XXH32 (seed 0): any change here would move every key to another shard.
    expect(hash("")).toBe(0x02cc5d05);
    expect(hash("abc")).toBe(0x32d153ff);
    // Our own pins (UTF-8 bytes are hashed, not UTF-16 code units).
    expect(hash("session-42")).toBe(0x52c34829);
    expect(hash("ünïcödé 🚀")).toBe(0x60434f50);
  });
});

describe("pure-JS XXH32 for ASCII texts", () => {
  it("equals the wasm XXH32 for every ASCII string and refuses every non-ASCII one (property)", async () => {
    const { xxh32Ascii } = await import("../src/ingest/xxh32-ascii.js");
    const { default: xxhash } = await import("xxhash-wasm");
    const { h32 } = await xxhash();
    fc.assert(
      fc.property(fc.string({ unit: "binary-ascii", maxLength: 200 }), fc.nat(), (text, seed) => {
        expect(xxh32Ascii(text, seed)).toBe(h32(text, seed));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: "binary-ascii", maxLength: 40 }),
        fc
          .string({ unit: "grapheme", minLength: 1, maxLength: 4 })
          .filter((s) => [...s].some((c) => c.charCodeAt(0) > 0x7f)),
        fc.string({ unit: "binary-ascii", maxLength: 40 }),
        (before, unicode, after) => {
          expect(xxh32Ascii(before + unicode + after, 0)).toBe(-1);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
