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

describe("bad input to the ingest calls, open or shut down", () => {
  const notRawEvents: [string, unknown][] = [
    ["null", null],
    ["undefined", undefined],
    ["a string", '{"a":1}'],
    ["a number", 7],
    ["a RawEvent whose json is not a string", { json: { a: 1 }, hash: 1 }],
  ];
  const notArrays: [string, unknown][] = [
    ["null", null],
    ["undefined", undefined],
    ["a string", "[1,2]"],
    ["an array-like object", { length: 2, 0: { a: 1 }, 1: { a: 2 } }],
  ];
  const states = ["open", "shut down"] as const;

  async function busIn(state: (typeof states)[number]) {
    const bus = await createBus();
    if (state === "shut down") await bus.shutdown();
    return bus;
  }

  /** Runs `call`, which must throw synchronously; returns the error. */
  function thrown(call: () => unknown): unknown {
    try {
      call();
    } catch (error) {
      return error;
    }
    return expect.unreachable("the call did not throw");
  }

  describe.each(states)("%s bus", (state) => {
    it.each(notRawEvents)("ingestRaw(%s) throws InvalidEventError", async (_, event) => {
      const bus = await busIn(state);
      const error = thrown(() => bus.ingestRaw(event as RawEvent));
      expect(error).toBeInstanceOf(InvalidEventError);
      expect(error).toMatchObject({ code: "INVALID_EVENT" });
      expect(bus.stats().rejectedBy.invalid).toBe(1);
      await bus.shutdown();
    });

    it.each(notRawEvents)("ingestRawOrWait(%s) rejects with InvalidEventError", async (_, event) => {
      const bus = await busIn(state);
      let result: Promise<unknown> | undefined;
      expect(() => {
        result = bus.ingestRawOrWait(event as RawEvent);
      }).not.toThrow();
      await expect(result).rejects.toBeInstanceOf(InvalidEventError);
      await bus.shutdown();
    });

    it.each(notArrays)("the batch calls refuse %s with InvalidEventError", async (_, values) => {
      const bus = await busIn(state);
      expect(thrown(() => bus.ingestMany(values as unknown[]))).toBeInstanceOf(InvalidEventError);
      expect(thrown(() => bus.ingestRawMany(values as RawEvent[]))).toBeInstanceOf(InvalidEventError);
      await expect(bus.ingestManyOrWait(values as unknown[])).rejects.toBeInstanceOf(InvalidEventError);
      await expect(bus.ingestRawManyOrWait(values as RawEvent[])).rejects.toBeInstanceOf(InvalidEventError);
      expect(bus.stats().rejectedBy.invalid).toBe(4);
      expect(bus.stats().rejectedBy.closed).toBe(0);
      await bus.shutdown();
    });

    it("the batch raw calls refuse an array holding a non-event", async () => {
      const bus = await busIn(state);
      const events = [{ json: "{}", hash: 1 }, null] as unknown as RawEvent[];
      expect(thrown(() => bus.ingestRawMany(events))).toBeInstanceOf(InvalidEventError);
      await expect(bus.ingestRawManyOrWait(events)).rejects.toBeInstanceOf(InvalidEventError);
      expect(bus.stats()).toMatchObject({ ingested: 0, rejectedBy: { invalid: 2, closed: 0 } });
      await bus.shutdown();
    });

    it("ingest and ingestMany refuse a value that is not an event", async () => {
      const bus = await busIn(state);
      expect(thrown(() => bus.ingest({ n: 1n }))).toBeInstanceOf(InvalidEventError);
      expect(thrown(() => bus.ingest({ a: 1 }, { key: 5 as unknown as string }))).toBeInstanceOf(
        InvalidEventError,
      );
      expect(thrown(() => bus.ingestMany([{ ok: 1 }, { n: 1n }]))).toBeInstanceOf(InvalidEventError);
      expect(bus.stats().rejectedBy).toMatchObject({ invalid: 3, closed: 0 });
      await bus.shutdown();
    });

    it("ingestOrWait rejects, rather than throws, for a value that is not an event", async () => {
      const bus = await busIn(state);
      let serializing: Promise<unknown> | undefined;
      let keying: Promise<unknown> | undefined;
      expect(() => {
        serializing = bus.ingestOrWait({ n: 1n });
        keying = bus.ingestOrWait({ a: 1 }, { key: 5 as unknown as string });
      }).not.toThrow();
      await expect(serializing).rejects.toBeInstanceOf(InvalidEventError);
      await expect(keying).rejects.toBeInstanceOf(InvalidEventError);
      await bus.shutdown();
    });
  });

  it("a shut-down bus still answers valid input with 'closed'", async () => {
    const bus = await busIn("shut down");
    const raw = bus.prepare({ a: 1 });
    expect(bus.ingest({ a: 1 })).toBe("closed");
    expect(bus.ingestRaw(raw)).toBe("closed");
    expect(bus.ingestRaw({ json: "{}", hash: 1 })).toBe("closed");
    expect(bus.ingestMany([{ a: 1 }, { a: 2 }])).toBe(0);
    expect(bus.ingestRawMany([raw])).toBe(0);
    expect(await bus.ingestOrWait({ a: 1 })).toBe("closed");
    expect(await bus.ingestRawOrWait(raw)).toBe("closed");
    expect(await bus.ingestManyOrWait([{ a: 1 }])).toBe(0);
    expect(await bus.ingestRawManyOrWait([raw])).toBe(0);
    expect(bus.stats().rejectedBy).toMatchObject({ closed: 10, invalid: 0 });
  });
});
