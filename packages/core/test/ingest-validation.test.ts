import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import { ADAPTER_SPEC_VERSION } from "../src/contract/adapter.js";
import { FatalError } from "../src/contract/adapter-errors.js";
import { AdapterCompatibilityError, InvalidEventError } from "../src/errors.js";
import type { RawEvent } from "../src/ingest/raw-event.js";
import { ScriptedAdapter, readStore } from "./helpers.js";

describe("input validation", () => {
  it.each([
    ["a BigInt", { n: 1n }],
    [
      "a circular object",
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
    ],
    ["undefined", undefined],
    ["a function", () => 1],
  ])("refuses %s with InvalidEventError and loses nothing else", async (_, value) => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter });
    bus.ingest({ before: true });
    expect(() => bus.ingest(value)).toThrow(InvalidEventError);
    bus.ingest({ after: true });
    await bus.flush();
    const stats = bus.stats();
    expect(stats).toMatchObject({ ingested: 2, dispatched: 2, dropped: 0 });
    expect(stats.rejectedBy.invalid).toBe(1);
    await bus.shutdown();
  });

  it("refuses a non-string key and a raw event without a JSON string", async () => {
    const bus = await createBus();
    expect(() => bus.ingest({ a: 1 }, { key: 42 as unknown as string })).toThrow(/partition key/);
    expect(() => bus.ingestRaw({ json: 5, hash: 1 } as unknown as RawEvent)).toThrow(InvalidEventError);
    expect(bus.stats().rejectedBy.invalid).toBe(2);
    await bus.shutdown();
  });

  it("ingestMany validates every value before admitting any", async () => {
    const bus = await createBus();
    try {
      bus.ingestMany([{ ok: 1 }, { bad: 1n }, { ok: 2 }]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidEventError);
      expect((error as Error).message).toContain("events[1]");
    }
    expect(bus.stats().ingested).toBe(0);
    expect(bus.stats().rejectedBy.invalid).toBe(1);
    await bus.shutdown();
  });

  it("routes prepared raw events like the values they came from, and stores the bytes as given", async () => {
    const adapter = new ScriptedAdapter();
    const bus = await createBus({ adapter, shards: 8 });
    const raw = bus.prepare({ text: "héllo \u2028 🚀" }, { key: "session-9" });
    expect(bus.ingestRaw(raw)).toBe("accepted");
    const handWritten: RawEvent = { json: '{"spacing" :  "kept"}', hash: raw.hash };
    expect(bus.ingestRawMany([handWritten, raw])).toBe(2);
    await bus.flush();
    const stored = await readStore(adapter.store);
    expect(stored.map((e) => e.json)).toEqual([raw.json, handWritten.json, raw.json]);
    expect(new Set(stored.map((e) => e.shard))).toEqual(new Set([bus.shardFor("session-9")]));
    await bus.shutdown();
  });

  it("refuses an adapter speaking another contract version", async () => {
    const adapter = new ScriptedAdapter();
    Object.defineProperty(adapter, "specVersion", { value: ADAPTER_SPEC_VERSION + 1 });
    await expect(createBus({ adapter })).rejects.toBeInstanceOf(AdapterCompatibilityError);
  });

  it("fails creation when the adapter's init fails or hangs", async () => {
    const failing = new ScriptedAdapter();
    failing.init = async () => {
      throw new FatalError("WRONGPASS");
    };
    await expect(createBus({ adapter: failing })).rejects.toThrow("WRONGPASS");
    const hanging = new ScriptedAdapter();
    hanging.init = () => new Promise(() => {});
    await expect(createBus({ adapter: hanging, adapterTimeoutMs: 30 })).rejects.toThrow(/init timed out/);
  });
});

describe("adapter context", () => {
  it("hands the adapter the bus's timeout and whether the producer state persists", async () => {
    const adapter = new ScriptedAdapter();
    const contexts: unknown[] = [];
    const init = adapter.init.bind(adapter);
    adapter.init = async (context?: unknown) => {
      contexts.push(context);
      return init();
    };
    const bus = await createBus({ adapter, adapterTimeoutMs: 1234 });
    expect(contexts).toEqual([
      expect.objectContaining({ adapterTimeoutMs: 1234, persistentProducer: false }),
    ]);
    await bus.shutdown();
  });
});
