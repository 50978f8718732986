import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../src/dispatch/backoff.js";

describe("retryDelayMs", () => {
  it("doubles per attempt within ±25% and caps at the maximum", () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const base = Math.min(100 * 2 ** attempt, 3200);
      for (let shard = 0; shard < 16; shard++) {
        const delay = retryDelayMs(shard, attempt, 100, 3200);
        expect(delay).toBeGreaterThanOrEqual(base * 0.75);
        expect(delay).toBeLessThan(base * 1.25);
      }
    }
  });

  it("is deterministic per (shard, attempt) and spreads shards apart", () => {
    expect(retryDelayMs(3, 2, 100, 3200)).toBe(retryDelayMs(3, 2, 100, 3200));
    const distinct = new Set(
      Array.from({ length: 16 }, (_, shard) => Math.round(retryDelayMs(shard, 2, 100, 3200))),
    );
    expect(distinct.size).toBeGreaterThanOrEqual(8);
  });

  it("never goes below 1 ms", () => {
    expect(retryDelayMs(0, 0, 0.1, 0.1)).toBe(1);
  });
});
