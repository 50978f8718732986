import { TestBatch } from "@netmesh/adapter-testkit";
import { capabilityProblems, silentLogger } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JETSTREAM_DEFAULTS, JetStreamAdapter } from "../src/index.js";
import { readAll } from "./support/adapter.js";
import { liveSignal } from "./support/nats.js";
import { type OwnServer, startOwnServer } from "./support/own-server.js";

/** A JSON string of exactly `bytes` UTF-8 bytes. */
function sized(bytes: number): string {
  return `"${"x".repeat(bytes - 2)}"`;
}

describe("capabilities", () => {
  let server: OwnServer;
  beforeAll(async () => {
    server = await startOwnServer("max_payload: 65536");
  });
  afterAll(() => server?.stop());

  it("are settled at init from the server's max_payload less the 97 header bytes, and do not change after", async () => {
    const adapter = new JetStreamAdapter({ url: server.url(), prefix: "caps", duplicateWindowMs: 120_000 });
    // Before init: NATS's default max_payload (1 MiB) is assumed.
    expect(adapter.capabilities.maxEventBytes).toBe(1_048_576 - 97);
    await adapter.init({ logger: silentLogger });
    try {
      const declared = adapter.capabilities;
      expect(capabilityProblems(declared)).toEqual([]);
      expect(declared).toEqual({
        readable: true,
        dedup: "write",
        dedupWindowMs: 120_000,
        persistent: true,
        ordering: "shard",
        maxEventBytes: 65_536 - 97,
        streamingReads: true,
        listsShards: true,
        payload: "bytes",
        readsAheadFrom: 64,
      });
      expect(Object.isFrozen(declared)).toBe(true);
      // The boundary with the longest header the contract allows: shard 65534, 16-digit sequences and
      // 17-character timestamps make message id and timestamp 39 and 17 characters, 97 header bytes.
      const first = Number.MAX_SAFE_INTEGER - 10;
      const stamps = Float64Array.from([0, 1, 2, 3], (i) => -Number.MAX_SAFE_INTEGER + i);
      const events = ['{"a":1}', sized(65_439), sized(65_440), '{"a":2}'];
      const boundary = new TestBatch(65_534, "ffffffffffffffff", first, events, stamps);
      const result = await adapter.onBatch(boundary, liveSignal());
      expect(result?.rejected?.map(({ index, reason }) => ({ index, reason }))).toEqual([
        { index: 2, reason: "tooLarge" },
      ]);
      const stored = await readAll(adapter, 65_534);
      expect(stored.map((event) => event.json)).toEqual(['{"a":1}', sized(65_439), '{"a":2}']);
      expect(adapter.capabilities).toBe(declared);
      await adapter.shutdown();
      expect(adapter.capabilities).toBe(declared);
    } finally {
      await adapter.shutdown();
    }
  });

  it("the dedup window defaults to the streams' duplicate_window of one hour", () => {
    const adapter = new JetStreamAdapter({ url: server.url(), prefix: "caps" });
    expect(adapter.capabilities.dedupWindowMs).toBe(JETSTREAM_DEFAULTS.duplicateWindowMs);
    expect(JETSTREAM_DEFAULTS.duplicateWindowMs).toBe(3_600_000);
  });
});
