import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, RedisAdapter, dedupKey, streamKey } from "../src/index.js";
import type { RedisAdapterOptions } from "../src/index.js";

const url = "redis://127.0.0.1:1";

describe("options", () => {
  it("applies the documented defaults", () => {
    const adapter = new RedisAdapter({ url });
    expect(adapter.settings).toEqual({
      prefix: "netmesh",
      commandTimeoutMs: 5_000,
      connectTimeoutMs: 5_000,
      healthCheckTimeoutMs: 1_000,
      trim: undefined,
      dedupWindowMs: 86_400_000,
      maxEventsPerCall: 1_000,
      maxBytesPerCall: 4 * 1024 * 1024,
      maxEventBytes: 64 * 1024 * 1024,
      directReads: true,
    });
    expect(DEFAULT_SETTINGS.prefix).toBe("netmesh");
    expect(adapter.name).toBe("redis");
    adapter.client.disconnect();
  });

  it("resolves trimming and the dedup window", () => {
    const byLength = new RedisAdapter({ url, maxLength: 1000 });
    expect(byLength.settings.trim).toEqual({ strategy: "MAXLEN", value: 1000 });
    const byAge = new RedisAdapter({ url, maxAgeMs: 60_000, dedupWindowMs: "forever" });
    expect(byAge.settings.trim).toEqual({ strategy: "MINID", value: 60_000 });
    expect(byAge.settings.dedupWindowMs).toBe(0);
    for (const adapter of [byLength, byAge]) adapter.client.disconnect();
  });

  it.each<[string, RedisAdapterOptions]>([
    ["no connection", {} as RedisAdapterOptions],
    ["an empty url", { url: "" }],
    ["a blank url with redisOptions", { url: "  ", redisOptions: {} }],
    ["a url that is not a string", { url: 6379 } as unknown as RedisAdapterOptions],
    ["url and client", { url, client: new Redis({ lazyConnect: true }) } as unknown as RedisAdapterOptions],
    ["empty prefix", { url, prefix: "" }],
    ["prefix with a brace", { url, prefix: "a{b" }],
    ["prefix with a closing brace", { url, prefix: "a}b" }],
    ["prefix with a newline", { url, prefix: "a\nb" }],
    ["zero timeout", { url, commandTimeoutMs: 0 }],
    ["fractional timeout", { url, connectTimeoutMs: 1.5 }],
    ["timeout beyond setTimeout", { url, healthCheckTimeoutMs: 2 ** 31 }],
    ["both trims", { url, maxLength: 10, maxAgeMs: 10 }],
    ["negative maxLength", { url, maxLength: -1 }],
    ["zero dedup window", { url, dedupWindowMs: 0 }],
    ["zero events per call", { url, maxEventsPerCall: 0 }],
    ["zero event bytes", { url, maxEventBytes: 0 }],
    ["NaN bytes per call", { url, maxBytesPerCall: Number.NaN }],
    ["directReads not a boolean", { url, directReads: "yes" } as unknown as RedisAdapterOptions],
  ])("rejects %s", (_, options) => {
    expect(() => new RedisAdapter(options)).toThrow(/RedisAdapter/);
  });
});

describe("key layout", () => {
  it("wraps the stream name in a hash tag and hangs the producer's mark under it", () => {
    expect(streamKey("netmesh", 3)).toBe("{netmesh:shard:3}");
    expect(dedupKey("netmesh", 3, "9f86d081884c7d65")).toBe("{netmesh:shard:3}:dedup:9f86d081884c7d65");
    expect(() => streamKey("bad{", 0)).toThrow(TypeError);
  });
});
