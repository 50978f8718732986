import { ConnectionError } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Producer, events, live } from "./support/batches.js";
import { readAll, storedSequences, useKinesis } from "./support/helpers.js";
import { type KinesisProxy, nextOf, startKinesisProxy } from "./support/kinesis-proxy.js";

const kinesis = useKinesis("dedup");
let proxy: KinesisProxy;

beforeAll(async () => {
  proxy = await startKinesisProxy(kinesis.endpoint);
});
afterAll(() => proxy.close());

describe("read-side dedup of retried batches", () => {
  it("a lost reply's retry is stored twice and read once, also from cursors between original and copy", async () => {
    proxy.rules.length = 0;
    // maxAttempts 1: the adapter, not the SDK, sees the lost reply, as the bus would after a timeout.
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1, maxAttempts: 1 });
    const producer = new Producer();
    const [a, b, c] = [
      producer.batch(0, events("a", 10)),
      producer.batch(0, events("b", 10)),
      producer.batch(0, events("c", 10)),
    ];
    await adapter.onBatch(a, live());
    proxy.rules.push(nextOf("PutRecords", { kind: "lose-reply" }));
    const lost = await adapter.onBatch(b, live()).catch((error: unknown) => error);
    expect(lost).toBeInstanceOf(ConnectionError);
    await adapter.onBatch(b, live()); // the bus's retry: the same batch object
    await adapter.onBatch(c, live());
    const [stored] = await storedSequences(kinesis.admin, adapter.settings.streamName);
    expect(stored).toHaveLength(40); // b is in the stream twice

    const expected = [...a.events, ...b.events, ...c.events];
    const all = await readAll(adapter, 0, undefined, 4);
    expect(all.map((event) => event.json)).toEqual(expected);
    expect(adapter.readCounters.duplicates).toBe(10);

    // Fresh processes reading from cursors inside b's original, at its end, and inside c: the copy of b
    // lies after the cursor, its original before; the reader's look-back finds the original.
    for (const at of [12, 19, 21]) {
      const reader = await kinesis.ready({ streamName: adapter.settings.streamName });
      const rest = await readAll(reader, 0, all[at]!.id, 3);
      expect(
        rest.map((event) => event.json),
        `after event ${at}`,
      ).toEqual(expected.slice(at + 1));
      expect(reader.readCounters.coldStarts).toBe(1);
      expect(reader.readCounters.duplicates, `copies dropped after event ${at}`).toBe(at < 20 ? 10 : 0);
    }
  });

  it("the SDK's own retry of a call whose reply was lost (same request id) is read once", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 }); // SDK retries (3 attempts)
    const producer = new Producer();
    const batch = producer.batch(0, events("sdk", 25));
    proxy.rules.push(nextOf("PutRecords", { kind: "lose-reply" }));
    const before = proxy.operations.length;
    await adapter.onBatch(batch, live());
    expect(proxy.operations.slice(before).filter((operation) => operation === "PutRecords")).toHaveLength(2);
    const [stored] = await storedSequences(kinesis.admin, adapter.settings.streamName);
    expect(stored).toHaveLength(50);
    const read = await readAll(adapter, 0);
    expect(read.map((event) => event.json)).toEqual(batch.events);
    expect(adapter.readCounters.duplicates).toBe(25);
  });

  it("a batch retried through a second adapter instance is read once; two producers with equal sequences are both kept", async () => {
    const first = await kinesis.ready({ shardCount: 1 });
    const second = await kinesis.ready({ streamName: first.settings.streamName });
    const one = new Producer();
    const two = new Producer();
    const batches = [one.batch(2, events("p1", 5)), two.batch(2, events("p2", 5))];
    await first.onBatch(batches[0]!, live());
    await second.onBatch(batches[1]!, live());
    await second.onBatch(batches[0]!, live()); // a retry the second instance cannot know was stored
    const next = one.batch(2, events("p1-next", 2));
    await second.onBatch(next, live());
    const read = await readAll(await kinesis.ready({ streamName: first.settings.streamName }), 2);
    expect(read.map((event) => event.json)).toEqual([
      ...batches[0]!.events,
      ...batches[1]!.events,
      ...next.events,
    ]);
  });

  it("state of a producer expires after dedupWindowMs: a copy stored later than that is read again (the declared window)", async () => {
    const adapter = await kinesis.ready({ shardCount: 1, dedupWindowMs: 300 });
    expect(adapter.capabilities.dedupWindowMs).toBe(300);
    const producer = new Producer();
    const batch = producer.batch(0, events("late", 3));
    await adapter.onBatch(batch, live());
    await new Promise((resolve) => setTimeout(resolve, 500));
    const again = await kinesis.ready({ streamName: adapter.settings.streamName, dedupWindowMs: 300 });
    await again.onBatch(batch, live());
    const read = await readAll(adapter, 0);
    expect(read.map((event) => event.json)).toEqual([...batch.events, ...batch.events]);
  });
});
