import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileFilter, type Filter } from "../src/consumer/filter.js";
import { InvalidFilterError } from "../src/errors.js";

const event = {
  type: "tool_call",
  session: "s-1",
  args: { q: "weather", n: 3 },
  tags: ["a", "b"],
  ok: true,
  none: null,
};

describe("filters", () => {
  it.each<[string, Filter, boolean]>([
    ["a field", { path: "type", value: "tool_call" }, true],
    ["a different value", { path: "type", value: "token" }, false],
    ["a nested field via $eq", { $eq: { path: "args.q", value: "weather" } }, true],
    ["an array index", { path: "tags.1", value: "b" }, true],
    ["a missing field", { path: "args.missing", value: null }, false],
    ["a null field", { path: "none", value: null }, true],
    ["a path through a scalar", { path: "type.length", value: 9 }, false],
    ["a non-numeric segment on an array", { path: "tags.x", value: "a" }, false],
    ["a whole object, exactly", { path: "args", value: { n: 3, q: "weather" } }, true],
    ["an object with an extra key", { path: "args", value: { q: "weather" } }, false],
    ["the root", { path: "", value: event }, true],
    [
      "$and",
      {
        $and: [
          { path: "ok", value: true },
          { path: "args.n", value: 3 },
        ],
      },
      true,
    ],
    ["an empty $and", { $and: [] }, false],
    [
      "$or",
      {
        $or: [
          { path: "type", value: "x" },
          { path: "session", value: "s-1" },
        ],
      },
      true,
    ],
    ["an empty $or", { $or: [] }, false],
    ["$not", { $not: { path: "type", value: "token" } }, true],
    ["1 equal to 1.0", { path: "args.n", value: 3.0 }, true],
    ["an inherited property", { path: "args.toString", value: null }, false],
  ])("matches %s correctly", (_, filter, expected) => {
    expect(compileFilter(filter).matches(event)).toBe(expected);
    expect(compileFilter(JSON.stringify(filter)).matches(event)).toBe(expected);
  });

  it.each([
    ["not an object", 5],
    ["an unknown form", { $gt: { path: "a", value: 1 } }],
    ["an operator with company", { $not: { path: "a", value: 1 }, path: "a" }],
    ["$and without an array", { $and: { path: "a", value: 1 } }],
    ["a non-string path", { path: 5, value: 1 }],
    ["a function value", { path: "a", value: () => 1 }],
    ["invalid JSON text", "{"],
  ])("rejects %s", (_, spec) => {
    expect(() => compileFilter(spec as Filter)).toThrow(InvalidFilterError);
  });

  it("rejects hostile nesting and size instead of overflowing the stack", () => {
    let deep: Filter = { path: "a", value: 1 };
    for (let i = 0; i < 10_000; i++) deep = { $not: deep };
    expect(() => compileFilter(deep)).toThrow(InvalidFilterError);
    const deepText = `${'{"$not":'.repeat(100_000)}{"path":"a","value":1}${"}".repeat(100_000)}`;
    expect(() => compileFilter(deepText)).toThrow(InvalidFilterError);
    let deepValue: unknown = 1;
    for (let i = 0; i < 100_000; i++) deepValue = [deepValue];
    expect(() => compileFilter({ path: "a", value: deepValue } as Filter)).toThrow(InvalidFilterError);
    const wide = { $or: Array.from({ length: 5_000 }, (_, i) => ({ path: "a", value: i })) };
    expect(() => compileFilter(wide)).toThrow(/more than/);
  });

  it("never throws when matching arbitrary JSON (property)", () => {
    const leaf = fc.record({
      path: fc.constantFrom("", "a", "a.b", "a.0", "0", "x.y.z"),
      value: fc.jsonValue({ maxDepth: 2 }),
    });
    const filter = fc.letrec<{ f: Filter }>((tie) => ({
      f: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf as fc.Arbitrary<Filter>,
        fc.record({ $not: tie("f") }) as fc.Arbitrary<Filter>,
        fc.record({ $and: fc.array(tie("f"), { maxLength: 3 }) }) as fc.Arbitrary<Filter>,
        fc.record({ $or: fc.array(tie("f"), { maxLength: 3 }) }) as fc.Arbitrary<Filter>,
      ),
    })).f;
    fc.assert(
      fc.property(filter, fc.jsonValue(), (spec, value) => {
        const result = compileFilter(spec).matches(value);
        expect(typeof result).toBe("boolean");
      }),
      { numRuns: 1000 },
    );
  });
});
