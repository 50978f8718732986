import { describe, expect, it } from "vitest";
import { SequenceSet } from "../src/sequence-set.js";

describe("SequenceSet", () => {
  it("reports repeats, also below and far beyond its first number", () => {
    const set = new SequenceSet();
    expect(set.add(1000)).toBe(true);
    expect(set.add(1001)).toBe(true);
    expect(set.add(1000)).toBe(false);
    expect(set.add(5)).toBe(true);
    expect(set.add(5)).toBe(false);
    expect(set.add(1000 + 2 ** 30)).toBe(true);
    expect(set.add(1000 + 2 ** 30)).toBe(false);
    expect(set.add(100_000)).toBe(true);
    expect(set.add(100_000)).toBe(false);
  });
});
