import { MemoryAdapter } from "@netmesh/core";
import { type AdapterCapabilities, capabilityProblems } from "@netmesh/core/adapter";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_EVENT_BYTES, MAX_TESTED_EVENT_BYTES, resolveFeatures } from "../src/index.js";

const full: AdapterCapabilities = new MemoryAdapter().capabilities;

describe("resolveFeatures", () => {
  it("derives the checks from the adapter's capabilities", () => {
    expect(resolveFeatures(full)).toEqual({
      readable: true,
      dedup: true,
      persistent: true,
      ordering: "shard",
      maxEventBytes: DEFAULT_MAX_EVENT_BYTES,
      sizeBoundary: undefined,
      streaming: true,
      listsShards: true,
      restart: false,
      lostReply: false,
    });
    expect(DEFAULT_MAX_EVENT_BYTES).toBe(1024 * 1024);
  });

  it("writes the declared boundary when it is finite and small enough", () => {
    expect(resolveFeatures({ ...full, maxEventBytes: 65_536 })).toMatchObject({
      maxEventBytes: 65_536,
      sizeBoundary: 65_536,
    });
    expect(resolveFeatures({ ...full, maxEventBytes: MAX_TESTED_EVENT_BYTES + 1 })).toMatchObject({
      maxEventBytes: MAX_TESTED_EVENT_BYTES,
      sizeBoundary: undefined,
    });
  });

  it("turns dedup, persistence and streaming off for a write-only adapter, since none can be observed", () => {
    const sink = {
      ...full,
      readable: false,
      dedup: "none",
      dedupWindowMs: 0,
      persistent: false,
      streamingReads: false,
    } as const;
    expect(resolveFeatures(sink)).toMatchObject({
      readable: false,
      dedup: false,
      persistent: false,
      streaming: false,
    });
  });

  it("knows which fault hooks were supplied", () => {
    expect(resolveFeatures(full, { loseNextReply: () => {} })).toMatchObject({
      lostReply: true,
      restart: false,
    });
  });
});

describe("capabilityProblems (shared with the bus)", () => {
  it.each([
    [{ readable: false }, /persistent cannot be true when readable is false/],
    [{ dedup: "yes" }, /dedup must be "write", "read" or "none", got "yes" \(string\)/],
    [{ dedup: "none" }, /dedupWindowMs must be 0 with dedup "none"/],
    [{ dedupWindowMs: 0 }, /dedupWindowMs must be > 0 with dedup "write"/],
    [{ maxEventBytes: 0 }, /maxEventBytes must be a positive integer or Infinity, got 0 \(number\)/],
    [{ maxEventBytes: 1.5 }, /maxEventBytes/],
    [{ ordering: "fifo" }, /ordering must be/],
    [{ streamingReads: "yes" }, /streamingReads must be a boolean/],
  ])("rejects %j", (change, message) => {
    expect(capabilityProblems({ ...full, ...change }).join("; ")).toMatch(message);
  });

  it("accepts the memory adapter's", () => {
    expect(capabilityProblems(full)).toEqual([]);
  });
});
