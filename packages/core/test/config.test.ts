import { describe, expect, it } from "vitest";
import { DEFAULTS, resolveConfig } from "../src/config.js";
import { ConfigError } from "../src/errors.js";
import { createBus } from "../src/bus.js";
import type { BusOptions } from "../src/config.js";

function problem(options: BusOptions): ConfigError {
  try {
    resolveConfig(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe("INVALID_CONFIG");
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("config validation", () => {
  it("has sensible defaults", () => {
    const config = resolveConfig({});
    expect(config.shards).toBe(DEFAULTS.shards);
    expect(config.ringCapacity).toBe(65_536);
    expect(config.backpressure).toEqual({ mode: "drop-oldest" });
    expect(config.batch).toEqual({
      minSize: 1000,
      maxSize: 10_000,
      maxDelayMs: 10,
      adaptive: true,
      velocityWindowMs: 100,
    });
    expect(config.retries).toBe(3);
  });

  it.each<[string, BusOptions, string]>([
    ["zero shards", { shards: 0 }, "shards"],
    ["fractional shards", { shards: 1.5 }, "shards"],
    ["too many shards", { shards: 65_536 }, "shards"],
    ["capacity not a power of two", { ringCapacity: 1000 }, "ringCapacity"],
    ["capacity 1", { ringCapacity: 1 }, "ringCapacity"],
    ["min batch > max batch", { batch: { minSize: 10, maxSize: 5 } }, "batch.minSize"],
    ["min batch 0", { batch: { minSize: 0 } }, "batch.minSize"],
    ["max batch over the limit", { batch: { maxSize: 1_000_001 } }, "batch.maxSize"],
    [
      "min batch larger than the ring",
      { ringCapacity: 64, batch: { minSize: 100, maxSize: 200 } },
      "batch.minSize",
    ],
    ["NaN delay", { batch: { maxDelayMs: Number.NaN } }, "batch.maxDelayMs"],
    ["infinite delay", { batch: { maxDelayMs: Number.POSITIVE_INFINITY } }, "batch.maxDelayMs"],
    ["negative delay", { batch: { maxDelayMs: -1 } }, "batch.maxDelayMs"],
    ["zero velocity window", { batch: { velocityWindowMs: 0 } }, "batch.velocityWindowMs"],
    ["zero adapter timeout", { adapterTimeoutMs: 0 }, "adapterTimeoutMs"],
    ["negative retries", { retries: -1 }, "retries"],
    ["max retry delay below base", { retryBaseDelayMs: 100, retryMaxDelayMs: 50 }, "retryMaxDelayMs"],
    ["sample rate 0", { backpressure: { mode: "sample", rate: 0 } }, "backpressure.rate"],
    [
      "sample threshold 0",
      { backpressure: { mode: "sample", rate: 2, threshold: 0 } },
      "backpressure.threshold",
    ],
    ["unknown mode", { backpressure: "drop-everything" as "block" }, "backpressure"],
    ["empty state path", { producerStatePath: "" }, "producerStatePath"],
  ])("rejects %s", (_, options, path) => {
    const error = problem(options);
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
  });

  it("createBus rejects invalid config before touching the adapter", async () => {
    await expect(createBus({ shards: 0 })).rejects.toBeInstanceOf(ConfigError);
  });
});
