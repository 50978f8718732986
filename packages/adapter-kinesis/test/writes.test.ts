import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PARTITION_KEY_BYTES } from "../src/index.js";
import { Producer, events, live } from "./support/batches.js";
import { readAll, useKinesis } from "./support/helpers.js";
import { type KinesisProxy, type WireRecord, startKinesisProxy } from "./support/kinesis-proxy.js";

const kinesis = useKinesis("writes");
let proxy: KinesisProxy;
/** Per PutRecords call seen by the proxy: its record count and its bytes (data plus partition keys). */
const calls: { records: number; bytes: number }[] = [];

beforeAll(async () => {
  proxy = await startKinesisProxy(kinesis.endpoint);
  proxy.rules.push((operation, body) => {
    if (operation !== "PutRecords") return undefined;
    const records = body.Records as WireRecord[];
    let bytes = 0;
    for (const record of records)
      bytes += Buffer.from(record.Data, "base64").length + record.PartitionKey.length;
    calls.push({ records: records.length, bytes });
    return undefined; // forwarded as it is
  });
});
afterAll(() => proxy.close());

const MiB = 1_048_576;

/** An event whose JSON text is exactly `bytes` UTF-8 bytes. */
function eventOf(bytes: number, tag: string): string {
  const head = `{"tag":"${tag}","pad":"`;
  return `${head}${"x".repeat(bytes - head.length - 2)}"}`;
}

describe("PutRecords calls of a batch", () => {
  it("carry at most 500 records each, in order", async () => {
    calls.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    const batch = new Producer().batch(0, events("many", 1_234));
    expect(await adapter.onBatch(batch, live())).toBeUndefined();
    expect(calls.map((call) => call.records)).toEqual([500, 500, 234]);
    const read = await readAll(adapter, 0);
    expect(read.map((event) => event.json)).toEqual(batch.events);
  });

  it("carry at most 5 MiB each (data plus partition keys): 12 events of maxEventBytes go as 5 + 5 + 2", async () => {
    calls.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    const max = adapter.capabilities.maxEventBytes;
    const texts = Array.from({ length: 12 }, (_, i) => eventOf(max, `big-${i}`));
    expect(texts.every((text) => Buffer.byteLength(text) === max)).toBe(true);
    const batch = new Producer().batch(0, texts);
    expect(await adapter.onBatch(batch, live())).toBeUndefined();
    // Each record is exactly the stream's 1 MiB limit: data (31-byte header + text) plus partition key.
    expect(calls.map((call) => call.records)).toEqual([5, 5, 2]);
    expect(calls.every((call) => call.bytes <= 5 * MiB)).toBe(true);
    expect(calls[0]!.bytes).toBe(5 * MiB);
    const read = await readAll(adapter, 0, undefined, 3);
    expect(read.map((event) => event.json)).toEqual(texts);
  });

  it("leave out the events refused alone, and the rest is stored in order across call boundaries", async () => {
    calls.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    const max = adapter.capabilities.maxEventBytes;
    const texts = events("mixed", 1_003);
    texts[2] = eventOf(max + 1, "too-large");
    texts[499] = '{"lone":"\ud800"}';
    texts[501] = eventOf(max, "largest");
    texts[1_002] = eventOf(max + 1 + PARTITION_KEY_BYTES, "too-large-end");
    const batch = new Producer().batch(0, texts);
    const result = await adapter.onBatch(batch, live());
    expect(result?.rejected?.map(({ index, reason }) => ({ index, reason }))).toEqual([
      { index: 2, reason: "tooLarge" },
      { index: 499, reason: "invalidText" },
      { index: 1_002, reason: "tooLarge" },
    ]);
    expect(calls.every((call) => call.records <= 500 && call.bytes <= 5 * MiB)).toBe(true);
    expect(calls.reduce((sum, call) => sum + call.records, 0)).toBe(1_000);
    const stored = texts.filter((_, i) => i !== 2 && i !== 499 && i !== 1_002);
    const read = await readAll(adapter, 0);
    expect(read.map((event) => event.json)).toEqual(stored);
    expect(read.map((event) => event.messageId)).toEqual(
      texts.map((_, i) => batch.messageId(i)).filter((_, i) => i !== 2 && i !== 499 && i !== 1_002),
    );
  });
});
