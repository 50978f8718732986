import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { Adapter } from "../src/contract/adapter.js";
import type { Batch } from "../src/contract/batch.js";
import { AdapterCompatibilityError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";
import { ScriptedAdapter, capturingLogger, fastRetries, liveSignal, readStore } from "./helpers.js";

/** A version-1 adapter as a third party wrote it: no capabilities, all-or-nothing onBatch. */
function versionOneAdapter(store: MemoryStore): Adapter {
  const inner = new MemoryAdapter({ store });
  const v1 = {
    name: "legacy",
    specVersion: 1,
    init: () => inner.init(),
    onBatch: async (batch: Batch) => {
      await inner.onBatch(batch, liveSignal);
    },
    flush: () => inner.flush(),
    shutdown: () => inner.shutdown(),
    pollShard: (shard: number, afterId: string | undefined, limit: number) =>
      inner.pollShard(shard, afterId, limit),
    isHealthy: () => inner.isHealthy(),
  };
  return v1 as unknown as Adapter;
}

describe("contract v2 at createBus", () => {
  it("runs a version-1 adapter with conservative capabilities and says so", async () => {
    const store = new MemoryStore();
    const { logger, lines } = capturingLogger();
    const bus = await createBus({ adapter: versionOneAdapter(store), logger, shards: 2 });
    expect(bus.capabilities).toMatchObject({
      dedup: "none",
      maxEventBytes: Number.POSITIVE_INFINITY,
      streamingReads: false,
    });
    expect(lines.some((line) => line.level === "warn" && /contract v1/.test(line.message))).toBe(true);
    expect(lines.some((line) => line.level === "warn" && /does not deduplicate/.test(line.message))).toBe(
      true,
    );
    for (let i = 0; i < 100; i++) bus.ingest({ i });
    await bus.shutdown();
    expect(await readStore(store)).toHaveLength(100);
  });

  it("refuses another contract version", async () => {
    const adapter = { ...versionOneAdapter(new MemoryStore()), specVersion: 3 } as Adapter;
    await expect(createBus({ adapter })).rejects.toThrow(AdapterCompatibilityError);
    await expect(createBus({ adapter })).rejects.toThrow(/contract version 3; this bus speaks version 2/);
  });

  it("refuses invalid capabilities after init, naming the field, and shuts the adapter down", async () => {
    const adapter = new ScriptedAdapter(["ok"], new MemoryStore(), { maxEventBytes: -5 });
    await expect(createBus({ adapter })).rejects.toThrow(
      /declares invalid capabilities: capabilities.maxEventBytes must be a positive integer or Infinity, got -5 \(number\)/,
    );
    expect(adapter.shutdownCalls).toBe(1);
  });

  it("refuses a payload form other than bytes or text, and takes text when none is given", async () => {
    const bad = new ScriptedAdapter(["ok"], new MemoryStore(), {
      payload: "utf16" as unknown as "text",
    });
    await expect(createBus({ adapter: bad })).rejects.toThrow(
      /capabilities.payload must be "bytes" or "text" when given, got "utf16" \(string\)/,
    );
    const plain = new ScriptedAdapter(["ok"], new MemoryStore(), {});
    const { payload: _omitted, ...withoutPayload } = plain.capabilities;
    Object.defineProperty(plain, "capabilities", { value: withoutPayload });
    const bus = await createBus({ adapter: plain, shards: 1 });
    bus.ingest({ a: "é" }); // 9 UTF-16 units, 10 UTF-8 bytes: the ring counts units
    expect(bus.stats().bytesQueued).toBe(9);
    await bus.shutdown();
  });

  it("refuses a readsAheadFrom that is not a positive integer", async () => {
    for (const readsAheadFrom of [0, 1.5, Number.NaN]) {
      const adapter = new ScriptedAdapter(["ok"], new MemoryStore(), { readsAheadFrom });
      await expect(createBus({ adapter })).rejects.toThrow(
        /capabilities.readsAheadFrom must be a positive integer when present/,
      );
    }
  });

  it("refuses a streaming capability without the method behind it", async () => {
    const adapter = new ScriptedAdapter(["ok"], new MemoryStore(), { streamingReads: true });
    await expect(createBus({ adapter })).rejects.toThrow(
      /streamingReads is true but the adapter has no readShard/,
    );
  });
});

describe("maxEventBytes at ingest", () => {
  const limit = 100;
  const fits = `"${"€".repeat(32)}${"x".repeat(2)}"`; // 2 + 96 + 2 = 100 UTF-8 bytes, 36 UTF-16 units
  const over = `"${"€".repeat(32)}${"x".repeat(3)}"`; // 101 bytes, still only 37 units

  it("refuses an event over the adapter's limit on every ingest path, and takes one at the limit", async () => {
    const store = new MemoryStore();
    const adapter = new ScriptedAdapter(["ok"], store, { maxEventBytes: limit });
    const bus = await createBus({ adapter, shards: 2 });
    expect(Buffer.byteLength(fits)).toBe(limit);
    expect(bus.ingestRaw({ json: fits, hash: 1 })).toBe("accepted");
    expect(bus.ingestRaw({ json: over, hash: 1 })).toBe("tooLarge");
    expect(bus.ingest(JSON.parse(over))).toBe("tooLarge");
    expect(bus.ingestMany([JSON.parse(fits), JSON.parse(over), JSON.parse(fits)])).toBe(2);
    expect(bus.ingestRawMany([{ json: over, hash: 2 }])).toBe(0);
    expect(await bus.ingestOrWait(JSON.parse(over))).toBe("tooLarge");
    expect(await bus.ingestRawOrWait({ json: fits, hash: 3 })).toBe("accepted");
    await bus.flush();
    const stats = bus.stats();
    expect(stats).toMatchObject({ ingested: 4, dispatched: 4, dropped: 0, rejected: 5 });
    expect(stats.rejectedBy.tooLarge).toBe(5);
    expect((await readStore(store)).map((event) => event.json)).toEqual([fits, fits, fits, fits]);
    await bus.shutdown();
  });
});

describe("per-event rejection (rule 2)", () => {
  it("drops only the refused events, with their reasons, and counts the rest dispatched", async () => {
    const store = new MemoryStore();
    const adapter: ScriptedAdapter = new ScriptedAdapter(
      [
        async (batch, signal) => {
          const keep = batch.events.filter((_, i) => i !== 1 && i !== 3);
          const rest = {
            ...batch,
            events: keep,
            size: keep.length,
            timestamps: batch.timestamps.filter((_, i) => i !== 1 && i !== 3),
          };
          await adapter.inner.onBatch(rest as Batch, signal);
          return {
            rejected: [
              { index: 1, reason: "invalidText" },
              { index: 3, reason: "tooLarge", message: "over 1 MiB" },
            ],
          };
        },
        "ok",
      ],
      store,
    );
    const { logger, lines } = capturingLogger();
    const bus = await createBus({ adapter, shards: 1, logger, batch: { minSize: 5, maxSize: 5 } });
    for (let i = 0; i < 10; i++) bus.ingest({ i });
    await bus.flush();
    const stats = bus.stats();
    expect(stats).toMatchObject({ ingested: 10, dispatched: 8, dropped: 2, pending: 0 });
    expect(stats.droppedBy).toMatchObject({ invalidText: 1, tooLarge: 1 });
    expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
    expect((await readStore(store)).map((event) => JSON.parse(event.json).i)).toEqual([
      0, 2, 4, 5, 6, 7, 8, 9,
    ]);
    const warning = lines.find((line) => /refused by the adapter/.test(line.message));
    expect(warning?.fields).toMatchObject({ rejected: 2, index: 1, reason: "invalidText" });
    await bus.shutdown();
  });

  it.each([
    ["an index out of range", { rejected: [{ index: 5, reason: "tooLarge" }] }],
    [
      "indices out of order",
      {
        rejected: [
          { index: 2, reason: "tooLarge" },
          { index: 1, reason: "tooLarge" },
        ],
      },
    ],
    ["an unknown reason", { rejected: [{ index: 0, reason: "nope" }] }],
    ["rejected that is not an array", { rejected: "all" }],
  ])(
    "treats a result with %s as a contract breach: the batch is dropped as adapterRejected",
    async (_, result) => {
      const adapter = new ScriptedAdapter([async () => result as never, "ok"]);
      const bus = await createBus({ adapter, shards: 1, batch: { minSize: 5, maxSize: 5 }, ...fastRetries });
      for (let i = 0; i < 5; i++) bus.ingest({ i });
      await bus.flush();
      expect(bus.stats()).toMatchObject({ ingested: 5, dispatched: 0, dropped: 5 });
      expect(bus.stats().droppedBy.adapterRejected).toBe(5);
      await bus.shutdown();
    },
  );
});
