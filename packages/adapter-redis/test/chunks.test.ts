import { TestBatch, TestProducer } from "@netmesh/adapter-testkit";
import { SerializationError } from "@netmesh/core/adapter";
import { describe, expect, it } from "vitest";
import { buildChunks } from "../src/chunks.js";
import { resolveSettings } from "../src/options.js";

const plan = (settings: Parameters<typeof resolveSettings>[0] = {}, trimValue = "") => ({
  stream: "{p:shard:0}",
  mark: "{p:shard:0}:dedup:x",
  settings: resolveSettings(settings),
  trimValue,
  maxEventBytes: resolveSettings(settings).maxEventBytes,
});

/** Script calls with the events' bytes read as text, and the events' arguments checked to be bytes. */
const asText = (calls: ReturnType<typeof buildChunks>["calls"]) =>
  calls.map((call) =>
    call.map((arg, i) => {
      const isJson = i >= 8 && (i - 8) % 3 === 2;
      expect(Buffer.isBuffer(arg)).toBe(isJson);
      return typeof arg === "string" ? arg : arg.toString("utf8");
    }),
  );

/** The script calls of a batch (no event refused), events as text. */
const callsOf = (...args: Parameters<typeof buildChunks>) => {
  const { calls, rejected } = buildChunks(...args);
  expect(rejected).toEqual([]);
  return asText(calls);
};

describe("buildChunks", () => {
  it("lays out keys, header and one (timestamp, message id, JSON) triple per event", () => {
    const batch = new TestProducer().batch(0, ['{"a":1}', "2"]);
    const [call, ...rest] = callsOf(batch, plan({ dedupWindowMs: 5_000, maxLength: 10 }, "10"));
    expect(rest).toEqual([]);
    expect(call).toEqual([
      "{p:shard:0}",
      "{p:shard:0}:dedup:x",
      "0",
      "2",
      "0",
      "5000",
      "MAXLEN",
      "10",
      String(batch.timestamps[0]),
      batch.messageId(0),
      '{"a":1}',
      String(batch.timestamps[1]),
      batch.messageId(1),
      "2",
    ]);
  });

  it("cuts by event count; every chunk after the first requires the mark where its predecessor ends", () => {
    const producer = new TestProducer();
    producer.batch(0, ["0", "1", "2"]); // the next batch starts at sequence 3
    const batch = producer.batch(
      0,
      Array.from({ length: 25 }, (_, i) => String(i)),
    );
    const calls = callsOf(batch, plan({ maxEventsPerCall: 10 }));
    expect(calls.map((call) => [call[2], call[3], call[4]])).toEqual([
      ["3", "10", "0"],
      ["13", "10", "13"],
      ["23", "5", "23"],
    ]);
    expect(calls.flatMap((call) => call.slice(8).filter((_, i) => i % 3 === 2))).toEqual(batch.events);
  });

  it("cuts by UTF-8 bytes; an event larger than the limit goes alone", () => {
    const big = "€".repeat(40); // 120 bytes, 40 UTF-16 units
    const batch = new TestProducer().batch(0, ['"a"', '"b"', `"${big}"`, '"c"', '"d"']);
    const calls = callsOf(batch, plan({ maxBytesPerCall: 10 }));
    expect(calls.map((call) => call.slice(8).filter((_, i) => i % 3 === 2))).toEqual([
      ['"a"', '"b"'],
      [`"${big}"`],
      ['"c"', '"d"'],
    ]);
  });

  it("counts exact bytes when the cheap bound (3 per UTF-16 unit) does not fit: no chunk is cut early", () => {
    const euro = '"€"'; // 3 UTF-16 units (bound 9 bytes), 5 UTF-8 bytes
    const batch = new TestProducer().batch(0, [euro, euro, euro, euro, euro]);
    const calls = callsOf(batch, plan({ maxBytesPerCall: 20 }));
    expect(calls.map((call) => (call.length - 8) / 3)).toEqual([4, 1]);
  });

  it("refuses a lone surrogate and an oversize event alone, cutting the chunks around them", () => {
    const producer = new TestProducer();
    producer.batch(0, ["0"]); // the next batch starts at sequence 1
    const big = `"${"x".repeat(98)}"`; // 100 bytes
    const batch = producer.batch(0, ['"a"', '"\ud800"', '"b"', big, '"c"']);
    const { calls: bytes, rejected } = buildChunks(batch, { ...plan(), maxEventBytes: 99 });
    const calls = asText(bytes);
    expect(rejected).toEqual([
      { index: 1, reason: "invalidText", message: "lone UTF-16 surrogate" },
      { index: 3, reason: "tooLarge", message: "over 99 bytes" },
    ]);
    // [first sequence, count, mark needed]: each chunk after a refused event needs its predecessor's end.
    expect(calls.map((call) => [call[2], call[3], call[4], call[10]])).toEqual([
      ["1", "1", "0", '"a"'],
      ["3", "1", "2", '"b"'],
      ["5", "1", "4", '"c"'],
    ]);
  });

  it("refuses a non-finite timestamp with SerializationError", () => {
    const stamps = new Float64Array([Number.NaN]);
    const nan = new TestBatch(0, "00000000000000aa", 0, ['"x"'], stamps);
    expect(() => buildChunks(nan, plan())).toThrow(SerializationError);
  });
});
