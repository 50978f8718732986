import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompositeCursor } from "../src/consumer/cursor.js";
import { compareIds, idFormat } from "../src/contract/ids.js";
import { InvalidCursorError } from "../src/errors.js";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64url");

describe("CompositeCursor", () => {
  it("round-trips any set of positions, and the encoding is never empty (property)", () => {
    const id = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String),
      fc.tuple(fc.nat(), fc.nat()).map(([a, b]) => `${a}-${b}`),
      fc.stringMatching(/^[0-9A-Za-z:_.-]{1,40}$/),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.integer({ min: 0, max: 65534 }).map(String), id), (positions) => {
        const cursor = new CompositeCursor();
        for (const [shard, position] of Object.entries(positions)) cursor.set(Number(shard), position);
        const text = cursor.encode();
        expect(text.length).toBeGreaterThan(0);
        expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
        const decoded = CompositeCursor.decode(text);
        expect(decoded.equals(cursor)).toBe(true);
        expect(decoded.encode()).toBe(text);
      }),
    );
    expect(new CompositeCursor().encode()).toBe("e30");
  });

  it("throws only InvalidCursorError on arbitrary strings (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.base64String(), fc.json().map(b64)), (text) => {
        try {
          CompositeCursor.decode(text);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidCursorError);
          expect((error as InvalidCursorError).code).toBe("INVALID_CURSOR");
        }
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ["bad encoding", "not base64!"],
    ["padding", `${b64('{"0":"1"}')}=`],
    ["bad JSON", b64("{")],
    ["an array", b64('["1"]')],
    ["a non-canonical key", b64('{"00":"1"}')],
    ["a signed key", b64('{"+1":"1"}')],
    ["an out-of-range key", b64('{"65536":"1"}')],
    ["a duplicate key", b64('{"1":"5","1":"9"}')],
    ["unordered keys", b64('{"2":"1","1":"1"}')],
    ["whitespace", b64('{"1": "1"}')],
    ["a non-string position", b64('{"1":5}')],
    ["an empty position", b64('{"1":""}')],
    ["a prototype key", b64('{"__proto__":"1"}')],
    ["a constructor key", b64('{"constructor":"1"}')],
    ["an empty string", ""],
  ])("rejects %s", (_, text) => {
    expect(() => CompositeCursor.decode(text)).toThrow(InvalidCursorError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("never moves a position backwards or across an id format change", () => {
    const cursor = new CompositeCursor();
    expect(cursor.advance(0, "9")).toBe("advanced");
    expect(cursor.advance(0, "10")).toBe("advanced");
    expect(cursor.advance(0, "9")).toBe("unchanged");
    expect(cursor.advance(0, "1700-1")).toBe("format-change");
    expect(cursor.get(0)).toBe("10");
    cursor.set(1, "1700-9");
    expect(cursor.advance(1, "1700-10")).toBe("advanced");
    expect(cursor.advance(1, "1699-99")).toBe("unchanged");
    expect(cursor.get(1)).toBe("1700-10");
  });
});

describe("compareIds", () => {
  it("compares decimal ids by value at any size and Redis ids pairwise", () => {
    expect(compareIds("9", "10")).toBeLessThan(0);
    expect(compareIds("18446744073709551615", "18446744073709551614")).toBeGreaterThan(0);
    expect(compareIds("007", "7")).toBe(0);
    expect(compareIds("1700-9", "1700-10")).toBeLessThan(0);
    expect(compareIds("1699-99", "1700-0")).toBeLessThan(0);
    expect(compareIds("01ARZ3NDEK", "01ARZ3NDEM")).toBeLessThan(0);
    expect([idFormat("5"), idFormat("5-1"), idFormat("abc")]).toEqual(["numeric", "redis", "opaque"]);
  });

  it("is a total order consistent with BigInt on decimal ids (property)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 70n }), fc.bigInt({ min: 0n, max: 2n ** 70n }), (a, b) => {
        expect(Math.sign(compareIds(String(a), String(b)))).toBe(a < b ? -1 : a > b ? 1 : 0);
      }),
    );
  });
});
