import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import { CompositeCursor } from "../src/consumer/cursor.js";
import { compileFilter } from "../src/consumer/filter.js";
import { ConfigError, InvalidCursorError, InvalidFilterError } from "../src/errors.js";
import { MemoryStore } from "../src/memory/memory-store.js";
import { ScriptedAdapter, readStore } from "./helpers.js";

// Edge cases of the documented API, found by a black-box test: each must get a clear typed error,
// or work as documented, never a generic TypeError or a call outside the contract.
describe("documented edge cases", () => {
  it("refuses a cursor naming shard 65535, outside the contract's [0, 65534]", () => {
    const cursor = Buffer.from(JSON.stringify({ "65535": "1" })).toString("base64url");
    expect(() => CompositeCursor.decode(cursor)).toThrow(InvalidCursorError);
    const ok = Buffer.from(JSON.stringify({ "65534": "1" })).toString("base64url");
    expect(() => CompositeCursor.decode(ok)).not.toThrow();
  });

  it.each([
    ["a Date", new Date(0)],
    ["a Map", new Map()],
    ["a Set", new Set()],
    ["a typed array", new Uint8Array(2)],
    ["a class instance", new (class Point {})()],
    ["a nested Date", { when: new Date(0) }],
  ])("refuses %s as a filter value with InvalidFilterError", (_, value) => {
    expect(() => compileFilter({ path: "a", value: value as never })).toThrow(InvalidFilterError);
  });

  it("still takes plain and null-prototype objects as filter values", () => {
    const bare = Object.assign(Object.create(null) as object, { x: 1 });
    expect(compileFilter({ path: "a", value: bare as never }).matches({ a: { x: 1 } })).toBe(true);
  });

  it.each(["shards", "retries", "ringCapacity", "adapterTimeoutMs", "retryBaseDelayMs"])(
    "refuses a null-prototype object as %s with a ConfigError naming the field",
    async (field) => {
      const error = await createBus({ [field]: Object.create(null) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe(field);
    },
  );

  it("refuses a null-prototype object as batch.maxDelayMs with a ConfigError naming the field", async () => {
    const error = await createBus({ batch: { maxDelayMs: Object.create(null) } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe("batch.maxDelayMs");
  });

  it("runs a ring smaller than the default batch with the defaults, and loses nothing", async () => {
    const store = new MemoryStore();
    const bus = await createBus({ adapter: new ScriptedAdapter(["ok"], store), ringCapacity: 64, shards: 2 });
    let accepted = 0;
    for (let i = 0; i < 500; i++) if ((await bus.ingestOrWait({ i })) === "accepted") accepted++;
    await bus.shutdown();
    expect(accepted).toBe(500);
    expect(await readStore(store)).toHaveLength(500);
  });

  it("lowers the default size trigger to a small maxSize instead of refusing it", async () => {
    const bus = await createBus({ batch: { maxSize: 100 } });
    await bus.shutdown();
  });
});
