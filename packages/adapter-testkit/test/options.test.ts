import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_EVENT_BYTES, describeFeatures, resolveFeatures } from "../src/index.js";

describe("resolveFeatures", () => {
  it("defaults to the full contract", () => {
    expect(resolveFeatures()).toEqual({
      readable: true,
      dedup: true,
      persistent: true,
      ordering: "shard",
      maxEventBytes: DEFAULT_MAX_EVENT_BYTES,
    });
    expect(DEFAULT_MAX_EVENT_BYTES).toBe(1024 * 1024);
  });

  it("turns dedup and persistence off for a write-only adapter, since neither can be observed", () => {
    expect(resolveFeatures({ readable: false })).toMatchObject({
      readable: false,
      dedup: false,
      persistent: false,
    });
  });

  it.each([
    [{ readable: false, dedup: true }, /dedup cannot be true/],
    [{ readable: false, persistent: true }, /persistent cannot be true/],
    [{ maxEventBytes: 1000 }, /maxEventBytes must be an integer ≥ 16384/],
    [{ maxEventBytes: 1.5e6 + 0.5 }, /maxEventBytes/],
    [{ ordering: "fifo" }, /ordering must be/],
    [{ dedup: "yes" }, /dedup must be a boolean/],
  ])("rejects %j", (features, message) => {
    expect(() => resolveFeatures(features as never)).toThrow(message);
  });

  it("describes the flags in force for the suite title", () => {
    expect(describeFeatures(resolveFeatures())).toBe("readable, dedup, persistent, ordered, max 1048576 B");
    expect(describeFeatures(resolveFeatures({ readable: false, maxEventBytes: 65_536 }))).toBe(
      "write-only, max 65536 B",
    );
  });
});
