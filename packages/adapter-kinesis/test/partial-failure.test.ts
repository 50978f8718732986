import {
  AdapterError,
  AdapterShutdownError,
  BackendBackpressureError,
  FatalError,
} from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { causeCode } from "../src/classify.js";
import { Producer, events, live } from "./support/batches.js";
import { readAll, storedSequences, useKinesis } from "./support/helpers.js";
import { type KinesisProxy, nextOf, startKinesisProxy } from "./support/kinesis-proxy.js";

const kinesis = useKinesis("partial");
let proxy: KinesisProxy;

beforeAll(async () => {
  proxy = await startKinesisProxy(kinesis.endpoint);
});
afterAll(() => proxy.close());

describe("partial PutRecords failures keep per-shard order", () => {
  it("resends from the first failed record; the records stored after it (orphans) are read once, in order", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    const producer = new Producer();
    const batch = producer.batch(0, events("partial", 20));
    // Records 3, 5 and 6 fail; 4 and 7…19 are stored although 3 is not: Kinesis's real behaviour.
    proxy.rules.push(nextOf("PutRecords", { kind: "fail-records", failed: new Set([3, 5, 6]) }));
    await adapter.onBatch(batch, live());

    // What Kinesis holds: 0–2, the orphans 4 and 7–19, then the resend 3–19 in order.
    const [stored] = await storedSequences(kinesis.admin, adapter.settings.streamName);
    const orphans = [4, ...Array.from({ length: 13 }, (_, i) => 7 + i)];
    expect(stored).toEqual([0, 1, 2, ...orphans, ...Array.from({ length: 17 }, (_, i) => 3 + i)]);
    expect(adapter.writeCounters.partialFailures).toBe(1);

    const read = await readAll(adapter, 0, undefined, 6);
    expect(read.map((event) => event.json)).toEqual(batch.events);
    expect(read.map((event) => event.messageId)).toEqual(batch.events.map((_, i) => batch.messageId(i)));
    expect(adapter.readCounters.orphans).toBe(orphans.length);

    // A reader of another process, starting from a cursor just before the failed record, agrees.
    const cold = await kinesis.ready({ streamName: adapter.settings.streamName });
    const after = await readAll(cold, 0, read[2]!.id, 4);
    expect(after.map((event) => event.json)).toEqual(batch.events.slice(3));
    expect(cold.readCounters.coldStarts).toBe(1);
  });

  it("survives several rounds, including calls where the first record fails, across 500-record calls", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    const producer = new Producer();
    const batch = producer.batch(0, events("rounds", 1_200)); // three calls: 500, 500, 200 records
    proxy.rules.push(
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([0, 1, 250]) }),
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([100, 101, 499]) }),
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([0]), code: "InternalFailure" }),
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([7]) }),
    );
    await adapter.onBatch(batch, live());
    expect(adapter.writeCounters.partialFailures).toBe(4);
    const read = await readAll(adapter, 0, undefined, 333);
    expect(read.map((event) => event.json)).toEqual(batch.events);
    expect(new Set(read.map((event) => event.id)).size).toBe(batch.size);
  });

  it("rejects with a retryable BackendBackpressureError after resends without progress; the bus's retry completes the batch once", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({
      endpoint: proxy.endpoint,
      shardCount: 1,
      partialFailureRetries: 2,
    });
    const producer = new Producer();
    const first = producer.batch(0, events("throttled", 10));
    proxy.rules.push(
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([6, 8]) }),
      nextOf(
        "PutRecords",
        { kind: "fail-records", failed: new Set(Array.from({ length: 4 }, (_, i) => i)) },
        3,
      ),
    );
    const error = await adapter.onBatch(first, live()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BackendBackpressureError);
    expect((error as BackendBackpressureError).isRetryable).toBe(true);
    expect((error as Error).message).toMatch(/ProvisionedThroughputExceededException.*without progress/);
    // The bus retries the very same batch: it resumes after the six records confirmed stored.
    await adapter.onBatch(first, live());
    const second = producer.batch(0, events("after", 3));
    await adapter.onBatch(second, live());
    const read = await readAll(adapter, 0);
    expect(read.map((event) => event.json)).toEqual([...first.events, ...second.events]);
  });

  it("a failed record is resent even when the reply's FailedRecordCount says 0, is left out, or the record has no error code", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    const producer = new Producer();
    const batches = [producer.batch(0, events("zero", 10)), producer.batch(0, events("none", 10))];
    const blank = producer.batch(0, events("blank", 10));
    proxy.rules.push(
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([3]), failedRecordCount: 0 }),
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([5, 6]), failedRecordCount: null }),
      nextOf("PutRecords", {
        kind: "fail-records",
        failed: new Set([0, 8]),
        failedRecordCount: null,
        blank: true,
      }),
    );
    for (const batch of [...batches, blank]) expect(await adapter.onBatch(batch, live())).toBeUndefined();
    expect(adapter.writeCounters.partialFailures).toBe(3);
    const read = await readAll(adapter, 0);
    expect(read.map((event) => event.json)).toEqual([...batches, blank].flatMap((batch) => batch.events));
  });

  it("shutdown ends a write that is backing off between resends: it rejects at once and sends nothing more", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({
      endpoint: proxy.endpoint,
      shardCount: 1,
      partialFailureRetries: 100,
    });
    proxy.rules.push((operation) =>
      operation === "PutRecords" ? { kind: "fail-records", failed: new Set([0, 1, 2]) } : undefined,
    );
    const writing = adapter.onBatch(new Producer().batch(0, events("stop", 3)), live()).then(
      () => undefined,
      (error: unknown) => error,
    );
    for (let i = 0; i < 100 && adapter.writeCounters.partialFailures < 3; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    await adapter.shutdown();
    const error = await writing;
    expect(performance.now() - started).toBeLessThan(500);
    expect(error).toBeInstanceOf(AdapterShutdownError);
    const calls = proxy.operations.filter((operation) => operation === "PutRecords").length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(proxy.operations.filter((operation) => operation === "PutRecords")).toHaveLength(calls);
    proxy.rules.length = 0;
  });

  it("a record failing with a KMS access error is fatal and says so", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    proxy.rules.push(
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([1]), code: "KMSAccessDeniedException" }),
    );
    const error = await adapter
      .onBatch(new Producer().batch(0, events("kms", 3)), live())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/KMSAccessDeniedException.*fatal: .*retrying cannot help/);
    expect(causeCode(error)).toBe("KMSAccessDeniedException");
  });
});

/** Whether the error says nothing of its batch can have been stored (how the bus counts a drop). */
async function notStored(call: Promise<unknown>): Promise<boolean> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AdapterError)) throw new Error(`expected an AdapterError, got ${String(error)}`);
  return error.notStored;
}

describe("a failed write tells the bus whether part of its batch may be stored (AdapterError.notStored)", () => {
  it("not when an earlier call of the batch stored its records and a later one is throttled whole", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1, maxAttempts: 1 });
    const throttled = {
      kind: "error",
      status: 400,
      type: "ProvisionedThroughputExceededException",
      message: "Rate exceeded",
    } as const;
    const producer = new Producer();
    proxy.rules.push(nextOf("PutRecords", throttled));
    expect(await notStored(adapter.onBatch(producer.batch(0, events("first", 3)), live()))).toBe(true);
    const batch = producer.batch(0, events("big", 700)); // two calls: 500, then 200
    let calls = 0;
    proxy.rules.unshift((operation) => (operation === "PutRecords" && ++calls === 2 ? throttled : undefined));
    expect(await notStored(adapter.onBatch(batch, live()))).toBe(false);
  });

  it("not when records before a fatal record failure were stored; yes when the very first record failed", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1 });
    const producer = new Producer();
    const kms = (index: number) =>
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([index]), code: "KMSDisabledException" });
    proxy.rules.push(kms(0));
    expect(await notStored(adapter.onBatch(producer.batch(0, events("none", 3)), live()))).toBe(true);
    proxy.rules.push(kms(2));
    expect(await notStored(adapter.onBatch(producer.batch(0, events("some", 3)), live()))).toBe(false);
  });

  it("not when throttled records stop the write after others of the batch were stored", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({
      endpoint: proxy.endpoint,
      shardCount: 1,
      partialFailureRetries: 0,
    });
    const producer = new Producer();
    proxy.rules.push(nextOf("PutRecords", { kind: "fail-records", failed: new Set([0, 1, 2]) }));
    expect(await notStored(adapter.onBatch(producer.batch(0, events("none", 3)), live()))).toBe(true);
    proxy.rules.push(
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([4]) }),
      nextOf("PutRecords", { kind: "fail-records", failed: new Set([0]) }),
    );
    expect(await notStored(adapter.onBatch(producer.batch(0, events("some", 6)), live()))).toBe(false);
  });

  it("not when the SDK sent the call again after a lost reply and the retry was throttled", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, shardCount: 1, maxAttempts: 2 });
    proxy.rules.push(
      nextOf("PutRecords", { kind: "lose-reply" }),
      nextOf("PutRecords", {
        kind: "error",
        status: 400,
        type: "ProvisionedThroughputExceededException",
        message: "Rate exceeded",
      }),
    );
    const batch = new Producer().batch(0, events("applied", 4));
    expect(await notStored(adapter.onBatch(batch, live()))).toBe(false);
    // The first attempt was applied: the events are in the stream.
    expect((await readAll(adapter, 0)).map((event) => event.json)).toEqual(batch.events);
  });
});
