import { PutRecordCommand } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashKeyOf, partitionKeyOf } from "../src/index.js";
import { Producer, events, live } from "./support/batches.js";
import { readAll, recordingLogger, useKinesis } from "./support/helpers.js";
import { type KinesisProxy, nextOf, startKinesisProxy } from "./support/kinesis-proxy.js";

const kinesis = useKinesis("reads");
let proxy: KinesisProxy;

beforeAll(async () => {
  proxy = await startKinesisProxy(kinesis.endpoint);
});
afterAll(() => proxy.close());

describe("reading Kinesis's awkward answers", () => {
  it("empty pages with MillisBehindLatest > 0 are not the end: a page may be empty while hasMore is true", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1, maxFetchesPerPoll: 2 });
    const batch = new Producer().batch(0, events("sparse", 5));
    await adapter.onBatch(batch, live());
    // Three empty answers that say "behind", each handing back the same iterator, as a sparse shard would.
    proxy.rules.push(
      nextOf(
        "GetRecords",
        (body) => ({
          kind: "reply",
          body: { Records: [], MillisBehindLatest: 5_000, NextShardIterator: body.ShardIterator },
        }),
        3,
      ),
    );
    const first = await adapter.pollShard(0, undefined, 10);
    expect(first).toEqual({ events: [], nextId: undefined, hasMore: true });
    const rest = await readAll(adapter, 0);
    expect(rest.map((event) => event.json)).toEqual(batch.events);
  });

  it("an expired iterator is renewed after the last record read: nothing lost, nothing repeated", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    const producer = new Producer();
    const first = producer.batch(0, events("before", 4));
    await adapter.onBatch(first, live());
    const read = await readAll(adapter, 0);
    const second = producer.batch(0, events("after", 4));
    await adapter.onBatch(second, live());
    const expired = "Iterator expired. The iterator was created at time X while right now it is Y";
    proxy.rules.push(
      nextOf("GetRecords", {
        kind: "error",
        status: 400,
        type: "ExpiredIteratorException",
        message: expired,
      }),
    );
    const before = proxy.operations.length;
    const after = await readAll(adapter, 0, read.at(-1)!.id);
    expect(after.map((event) => event.json)).toEqual(second.events);
    expect(proxy.operations.slice(before)).toContain("GetShardIterator");
  });

  it("records in another format are skipped with a warning, and the cursor moves past them, also at the end", async () => {
    const logs = recordingLogger();
    const adapter = await kinesis.ready({ shardCount: 1, logger: logs });
    const stream = adapter.settings.streamName;
    const producer = new Producer();
    const put = async (data: Uint8Array, shard = 0) => {
      const { SequenceNumber } = await kinesis.admin.send(
        new PutRecordCommand({
          StreamName: stream,
          Data: data,
          PartitionKey: partitionKeyOf(shard),
          ExplicitHashKey: hashKeyOf(shard).toString(),
        }),
      );
      return SequenceNumber!;
    };
    const first = producer.batch(0, events("first", 3));
    await adapter.onBatch(first, live());
    await put(Buffer.from("not a netmesh record, just text"));
    await put(Buffer.from([0x01, 0x02])); // too short for the header
    const second = producer.batch(0, events("second", 2));
    await adapter.onBatch(second, live());
    await put(Buffer.from("{}"), 1); // another bus shard sharing the Kinesis shard: skipped silently
    await put(Buffer.from("garbage at the end"));
    const last = await put(Buffer.from("more garbage at the end"));

    const read = await readAll(adapter, 0, undefined, 2);
    expect(read.map((event) => event.json)).toEqual([...first.events, ...second.events]);
    expect(adapter.readCounters.corrupt).toBe(4);
    const warnings = logs.lines.filter(
      (line) => line.level === "warn" && /not a netmesh event/.test(line.message),
    );
    expect(warnings).toHaveLength(4);
    expect(warnings.every((line) => typeof line.fields.reason === "string")).toBe(true);

    // After the last event only unreadable records follow: the page moves the cursor past them.
    for (const reader of [adapter, await kinesis.ready({ streamName: stream })]) {
      expect(await reader.pollShard(0, read.at(-1)!.id, 10)).toEqual({
        events: [],
        nextId: last,
        hasMore: false,
      });
      expect(await reader.pollShard(0, last, 10)).toEqual({ events: [], nextId: undefined, hasMore: false });
    }
  });

  it("a read cache far too small for the shard (readCacheBytes 1) evicts as it goes; reads stay exact, copies still dropped", async () => {
    proxy.rules.length = 0;
    const writer = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1, maxAttempts: 1 });
    const producer = new Producer();
    const batches = Array.from({ length: 6 }, (_, i) => producer.batch(0, events(`cache-${i}`, 50)));
    for (const [i, batch] of batches.entries()) {
      if (i === 3) {
        // A lost reply: the bus's retry stores batch 3 twice.
        proxy.rules.push(nextOf("PutRecords", { kind: "lose-reply" }));
        await adapterRetry(() => writer.onBatch(batch, live()));
      } else await writer.onBatch(batch, live());
    }
    const expected = batches.flatMap((batch) => batch.events);
    const adapter = await kinesis.ready({ streamName: writer.settings.streamName, readCacheBytes: 1 });
    const all = await readAll(adapter, 0, undefined, 7);
    expect(all.map((event) => event.json)).toEqual(expected);
    expect(adapter.readCounters.duplicates).toBe(50);
    // Cursors behind the evicted part, two readers at once, and the same cursor twice.
    for (const at of [0, 120, 149, 150, 151, 299]) {
      const [a, b] = await Promise.all([
        readAll(adapter, 0, all[at]!.id, 11),
        readAll(adapter, 0, all[at]!.id, 5),
      ]);
      expect(
        a.map((event) => event.json),
        `after ${at}`,
      ).toEqual(expected.slice(at + 1));
      expect(
        b.map((event) => event.json),
        `after ${at}`,
      ).toEqual(expected.slice(at + 1));
    }
  });
});

/** Runs a write until it resolves, as the bus retries a batch (at most 5 attempts). */
async function adapterRetry(write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await write();
      return;
    } catch {
      // retried with the same batch object
    }
  }
  throw new Error("the write did not succeed in 5 attempts");
}
