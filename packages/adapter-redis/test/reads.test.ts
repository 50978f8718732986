import { TestProducer } from "@netmesh/adapter-testkit";
import { FatalError, type Logger, silentLogger } from "@netmesh/core/adapter";
import { describe, expect, inject, it, onTestFinished } from "vitest";
import { RedisAdapter, streamKey } from "../src/index.js";
import { readAll, recordingLogger } from "./support/helpers.js";
import { useAdapters } from "./support/adapters.js";

const live = new AbortController().signal;

const harness = useAdapters("reads");
// Every read behaviour holds on both read paths: plain XRANGE decoded by the adapter, and the read script.
describe.each([
  ["direct XRANGE", true, "direct"],
  ["read script", false, "script"],
] as const)("pollShard over %s", (_, directReads, mode) => {
  const ready = async (logger: Logger = silentLogger) => {
    const ready = await harness.ready({ directReads }, logger);
    expect(ready.adapter.readMode).toBe(mode);
    return ready;
  };

  it("stores d, t and m per entry, and reads them back with the stream id as the event id", async () => {
    const { adapter, prefix } = await ready();
    const batch = new TestProducer().batch(7, ['{"a":1}', '"x"']);
    await adapter.onBatch(batch, live);
    const raw = await harness.redis().xrange(streamKey(prefix, 7), "-", "+");
    expect(raw.map(([, fields]) => fields)).toEqual([
      ["d", '{"a":1}', "t", String(batch.timestamps[0]), "m", batch.messageId(0)],
      ["d", '"x"', "t", String(batch.timestamps[1]), "m", batch.messageId(1)],
    ]);
    const page = await adapter.pollShard(7, undefined, 10);
    expect(page.events.map((event) => event.id)).toEqual(raw.map(([id]) => id));
    expect(page.events[0]).toEqual({
      id: raw[0]![0],
      shard: 7,
      timestamp: batch.timestamps[0],
      json: '{"a":1}',
      messageId: batch.messageId(0),
    });
    expect(page.nextId).toBe(raw[1]![0]);
    expect(page.hasMore).toBe(false);
  });

  it("keeps fractional and large timestamps exact", async () => {
    const { adapter } = await ready();
    const batch = new TestProducer().batch(0, ["1", "2", "3"]);
    batch.timestamps.set([1.5, 2 ** 53 - 1, 1795453819817815.5]);
    await adapter.onBatch(batch, live);
    const page = await adapter.pollShard(0, undefined, 10);
    expect(page.events.map((event) => event.timestamp)).toEqual([1.5, 2 ** 53 - 1, 1795453819817815.5]);
  });

  it("skips corrupt entries with a warning, and the cursor still moves past them", async () => {
    const logger = recordingLogger();
    const { adapter, prefix } = await ready(logger);
    const key = streamKey(prefix, 5);
    const producer = new TestProducer();
    const good = producer.batch(5, ['{"good":1}']);
    await adapter.onBatch(good, live);
    // Entries another writer (or damage) left behind: each lacks or garbles something.
    const corrupt = [
      ["t", "1", "m", `${producer.producer}:5:100`],
      ["d", "{}", "m", `${producer.producer}:5:101`],
      ["d", "{}", "t", "soon", "m", `${producer.producer}:5:102`],
      ["d", "{}", "t", "1"],
      ["d", "{}", "t", "1", "m", "not-a-message-id"],
      ["d", "{}", "t", "1", "m", `${producer.producer}:6:103`],
    ];
    const corruptIds: string[] = [];
    for (const fields of corrupt) corruptIds.push((await harness.redis().xadd(key, "*", ...fields))!);
    const after = producer.batch(5, ['{"good":2}']);
    await adapter.onBatch(after, live);

    // A page of only corrupt entries: no events, yet nextId is the last entry examined.
    const first = await adapter.pollShard(5, undefined, 1);
    expect(first.events.map((event) => event.json)).toEqual(['{"good":1}']);
    const onlyCorrupt = await adapter.pollShard(5, first.nextId, 3);
    expect(onlyCorrupt.events).toEqual([]);
    expect(onlyCorrupt.nextId).toBe(corruptIds[2]);
    expect(onlyCorrupt.hasMore).toBe(true);
    const rest = await adapter.pollShard(5, onlyCorrupt.nextId, 10);
    expect(rest.events.map((event) => event.json)).toEqual(['{"good":2}']);
    expect(rest.hasMore).toBe(false);

    const warnings = logger.lines.filter((line) => line.level === "warn");
    expect(warnings.map((line) => line.fields.entryId)).toEqual(corruptIds);
    expect(warnings.map((line) => line.fields.reason)).toEqual([
      'no "d" (event JSON) field',
      'no "t" (timestamp) field',
      'timestamp "soon" is not a number',
      'no "m" (message id) field',
      'message id "not-a-message-id" is malformed',
      `message id ${producer.producer}:6:103 names shard 6`,
    ]);
    expect(warnings.every((line) => line.fields.shard === 5 && line.fields.stream === key)).toBe(true);
  });

  it("reads another writer's entries by field name, and one whose t or m holds a space shifts none after it", async () => {
    const logger = recordingLogger();
    const { adapter, prefix } = await ready(logger);
    const key = streamKey(prefix, 3);
    const producer = new TestProducer();
    const mid = (sequence: number) => `${producer.producer}:3:${sequence}`;
    const written: [fields: string[], json: string | undefined][] = [
      [["m", mid(0), "t", "10", "d", '{"order":"reversed"}'], '{"order":"reversed"}'],
      [["d", '{"extra":1}', "t", "11", "m", mid(1), "x", "y"], '{"extra":1}'],
      [["d", "{}", "t", "12", "m", `${mid(2)} trailing`], undefined],
      [["d", '{"spaced":"t"}', "t", " 13", "m", mid(3)], '{"spaced":"t"}'],
      [["d", "{}", "t", "", "m", mid(4)], undefined],
      [["d", '{"a": "b c", "d":\n"e"}', "t", "14", "m", mid(5)], '{"a": "b c", "d":\n"e"}'],
    ];
    const ids: string[] = [];
    for (const [fields] of written) ids.push((await harness.redis().xadd(key, "*", ...fields))!);
    const page = await adapter.pollShard(3, undefined, 100);
    const expected = written.flatMap(([, json], i) => (json === undefined ? [] : [{ id: ids[i], json }]));
    expect(page.events.map((event) => ({ id: event.id, json: event.json }))).toEqual(expected);
    expect(page.events.map((event) => event.timestamp)).toEqual([10, 11, 13, 14]);
    expect(page.events.map((event) => event.messageId)).toEqual([mid(0), mid(1), mid(3), mid(5)]);
    expect(page.nextId).toBe(ids.at(-1));
    const warnings = logger.lines.filter((line) => line.level === "warn");
    expect(warnings.map((line) => [line.fields.entryId, line.fields.reason])).toEqual([
      [ids[2], `message id ${JSON.stringify(`${mid(2)} trailing`)} is malformed`],
      [ids[4], 'timestamp "" is not a number'],
    ]);
  });

  it("returns nextId = the last event returned, hasMore exact at every limit, undefined nextId when empty", async () => {
    const { adapter } = await ready();
    const batch = new TestProducer().batch(2, ["1", "2", "3", "4", "5"]);
    await adapter.onBatch(batch, live);
    const all = await readAll(adapter, 2);
    const ids = all.map((event) => event.id);
    for (let limit = 1; limit <= 6; limit++) {
      const page = await adapter.pollShard(2, undefined, limit);
      const returned = Math.min(limit, 5);
      expect(page.events.map((event) => event.id)).toEqual(ids.slice(0, returned));
      expect(page.nextId).toBe(ids[returned - 1]);
      expect(page.hasMore).toBe(limit < 5);
    }
    const fromMiddle = await adapter.pollShard(2, ids[1], 2);
    expect(fromMiddle.events.map((event) => event.id)).toEqual(ids.slice(2, 4));
    expect(fromMiddle.hasMore).toBe(true);
    expect(await adapter.pollShard(2, ids[4], 10)).toEqual({ events: [], nextId: undefined, hasMore: false });
    // A well-formed cursor that was never handed out is still exclusive: "0-1" precedes every entry.
    const before = await adapter.pollShard(2, "0-1", 10);
    expect(before.events.map((event) => event.id)).toEqual(ids);
    // The largest limit does not overflow COUNT.
    const huge = await adapter.pollShard(2, undefined, Number.MAX_SAFE_INTEGER);
    expect(huge.events).toHaveLength(5);
    expect(huge.hasMore).toBe(false);
  });

  it("rejects bad cursors, limits and shard ids with FatalError, and a stream id out of range as fatal too", async () => {
    const { adapter } = await ready();
    for (const cursor of ["", "abc", "1-", "-1", "1-2-3", " 1-2", "1.5-0"]) {
      await expect(adapter.pollShard(0, cursor, 1)).rejects.toBeInstanceOf(FatalError);
    }
    for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(adapter.pollShard(0, undefined, limit)).rejects.toBeInstanceOf(FatalError);
    }
    for (const shard of [-1, 65536, 1.5]) {
      await expect(adapter.pollShard(shard, undefined, 1)).rejects.toBeInstanceOf(FatalError);
    }
    // Well-formed digits beyond 2^64: Redis refuses it ("Invalid stream ID"), which is not retryable.
    await expect(adapter.pollShard(0, "99999999999999999999-0", 1)).rejects.toBeInstanceOf(FatalError);
  });

  it("reads an empty page after the largest stream id (XRANGE refuses to start after it; nothing can follow)", async () => {
    const { adapter } = await ready();
    await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), live);
    const last = "18446744073709551615-18446744073709551615";
    expect(await adapter.pollShard(0, last, 10)).toEqual({ events: [], nextId: undefined, hasMore: false });
    // Just below it is an ordinary exclusive cursor.
    const below = "18446744073709551615-18446744073709551614";
    expect(await adapter.pollShard(0, below, 10)).toEqual({ events: [], nextId: undefined, hasMore: false });
  });
});

describe("both read paths give the same page", () => {
  it("for a t or m holding bytes beyond ASCII, decoded as UTF-8 on both (a t ending in 0xA0 is skipped by both)", async () => {
    const direct = await harness.ready({ directReads: true });
    const script = new RedisAdapter({ url: inject("redisUrl"), prefix: direct.prefix, directReads: false });
    await script.init({ logger: silentLogger });
    onTestFinished(() => script.shutdown());
    const key = streamKey(direct.prefix, 0);
    const mid = "0123456789abcdef:0:0";
    await harness.redis().xadd(key, "*", "d", "{}", "t", Buffer.from([0x31, 0x32, 0xa0]), "m", mid);
    await harness.redis().xadd(key, "*", "d", "{}", "t", "12", "m", Buffer.from(`${mid}\u00e9`, "utf8"));
    await harness.redis().xadd(key, "*", "d", '{"ok":1}', "t", "13", "m", mid.replace(":0:0", ":0:1"));
    const page = await direct.adapter.pollShard(0, undefined, 10);
    expect(page.events.map((event) => event.json)).toEqual(['{"ok":1}']);
    expect(await script.pollShard(0, undefined, 10)).toEqual(page);
  });
});
