import { parseMessageId } from "@netmesh/core/adapter";
import { describe, expect, it } from "vitest";
import { AWKWARD_EVENTS, NESTING_DEPTH, nestedEvents, sizedEvent, utf8Length } from "../src/payloads.js";
import { TestProducer, randomProducer } from "../src/index.js";

describe("TestProducer", () => {
  it("makes gap-free sequences and strictly increasing timestamps per shard, like the bus", () => {
    const producer = new TestProducer("00000000000000ff");
    const a = producer.batch(3, ["1", "2"]);
    const b = producer.batch(7, ["3"]);
    const c = producer.batch(3, ["4", "5", "6"]);
    expect([a.firstSequence, b.firstSequence, c.firstSequence]).toEqual([0, 0, 2]);
    expect(c.messageId(2)).toBe("00000000000000ff:3:4");
    expect(parseMessageId(a.messageId(1))).toEqual({ producer: "00000000000000ff", shard: 3, sequence: 1 });
    const stamps = [...a.timestamps, ...c.timestamps];
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1]!);
    expect(Number.isInteger(stamps[0])).toBe(true);
  });

  it("copies the events it is given and reports expected events before any mutation", () => {
    const texts = ['{"a":1}'];
    const batch = new TestProducer().batch(0, texts);
    texts[0] = "changed";
    expect(batch.events).toEqual(['{"a":1}']);
    expect(batch.expected()[0]).toMatchObject({ shard: 0, json: '{"a":1}', messageId: batch.messageId(0) });
  });

  it("draws producer nonces of 16 lowercase hex digits", () => {
    for (let i = 0; i < 20; i++) expect(randomProducer()).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
  });
});

describe("payloads", () => {
  it("are all valid JSON text", () => {
    for (const text of [...AWKWARD_EVENTS, ...nestedEvents()]) expect(() => JSON.parse(text)).not.toThrow();
  });

  it("include texts a parse-and-stringify round trip would change", () => {
    const changed = AWKWARD_EVENTS.filter((text) => JSON.stringify(JSON.parse(text)) !== text);
    expect(changed.length).toBeGreaterThanOrEqual(5);
  });

  it.each([64, 16_384, 65_537, 1_048_576])("sizedEvent(%i) is exactly that many UTF-8 bytes", (bytes) => {
    const text = sizedEvent(bytes, 7);
    expect(utf8Length(text)).toBe(bytes);
    expect(text.length).toBeLessThan(bytes); // multi-byte characters are in there
    expect(JSON.parse(text)).toMatchObject({ seed: 7 });
  });

  it("nests as deep as announced", () => {
    const [arrays] = nestedEvents();
    let depth = 0;
    let value: unknown = JSON.parse(arrays!);
    while (Array.isArray(value) && value.length > 0) {
      value = value[0];
      depth++;
    }
    expect(depth + 1).toBe(NESTING_DEPTH);
  });
});
