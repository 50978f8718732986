import { type EventBus, createBus } from "@netmesh/core";
import type { StoredEvent } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KinesisAdapter } from "../src/index.js";
import { recordingLogger, useKinesis } from "./support/helpers.js";
import { type KinesisProxy, type Rule, startKinesisProxy } from "./support/kinesis-proxy.js";

const kinesis = useKinesis("bus");
let proxy: KinesisProxy;

beforeAll(async () => {
  proxy = await startKinesisProxy(kinesis.endpoint);
});
afterAll(() => proxy.close());

const EVENTS = 4_000;
const KEYS = 120;

/** Ingests EVENTS events over KEYS keys; returns the JSON texts per key, in ingest order. */
function ingest(bus: EventBus): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (let i = 0; i < EVENTS; i++) {
    const key = `session-${(i * 7919) % KEYS}`;
    const texts = byKey.get(key) ?? [];
    const event = {
      key,
      n: texts.length,
      type: i % 5 === 0 ? "tool-call" : "token",
      text: i % 41 === 0 ? "ünï ☃ 😀 \u2028" : `t${i}`,
    };
    expect(bus.ingest(event, { key })).toBe("accepted");
    texts.push(JSON.stringify(event));
    byKey.set(key, texts);
  }
  return byKey;
}

/** Everything `bus.poll` returns, page by page, until it reports no more. */
async function pollAll(bus: EventBus, limit: number): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  let cursor: string | undefined;
  for (let polls = 0; polls < 10_000; polls++) {
    const page = await bus.poll({ limit, ...(cursor !== undefined && { cursor }) });
    expect(page.failedShards).toEqual([]);
    expect(page.stalledShards).toEqual([]);
    all.push(...page.events);
    cursor = page.cursor;
    if (!page.hasMore) return all;
  }
  throw new Error("bus.poll did not end");
}

/** Every ingested event exactly once, on its key's shard, per-key in ingest order, byte for byte. */
function expectExactly(polled: readonly StoredEvent[], ingested: Map<string, string[]>, bus: EventBus): void {
  const got = new Map<string, string[]>();
  for (const event of polled) {
    const { key } = JSON.parse(event.json) as { key: string };
    expect(event.shard).toBe(bus.shardFor(key));
    const texts = got.get(key) ?? [];
    texts.push(event.json);
    got.set(key, texts);
  }
  expect(polled).toHaveLength(EVENTS);
  expect(new Set(polled.map((event) => event.messageId)).size).toBe(EVENTS);
  expect(got).toEqual(ingested);
}

async function run(adapter: KinesisAdapter, retryBaseDelayMs: number, smallPages: boolean, retries = 3) {
  const log = recordingLogger();
  const bus = await createBus({ adapter, shards: 4, logger: log, retryBaseDelayMs, retries });
  try {
    const ingested = ingest(bus);
    await bus.flush();
    const stats = bus.stats();
    expect(stats.dropped, JSON.stringify(log.lines.slice(0, 5))).toBe(0);
    expect(stats.dispatched).toBe(EVENTS);
    expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
    expectExactly(await pollAll(bus, 500), ingested, bus);
    // Small pages: bus.poll rolls each shard's position back to what it returned, mid-page of the
    // adapter's reads; those cursors are served from the adapter's cached logs.
    if (smallPages) expectExactly(await pollAll(bus, 37), ingested, bus);
    const report = await bus.shutdown();
    expect(report.lossy).toBe(false);
    return log;
  } finally {
    await bus.shutdown({ deadlineMs: 1_000 }).catch(() => {});
  }
}

describe("through a real bus", () => {
  it(`createBus({ shards: 4 }): ${EVENTS} events ingested, flushed and read back with bus.poll exactly`, async () => {
    const adapter = kinesis.create({ shardCount: 4 });
    await run(adapter, 100, true);
    expect(adapter.readCounters).toMatchObject({ duplicates: 0, orphans: 0, corrupt: 0 });
  });

  it("the same with partial failures and lost replies injected: the bus retries, reads stay exact", async () => {
    proxy.rules.length = 0;
    let calls = 0;
    // Every third PutRecords loses two records in the middle; every seventh loses its reply.
    const faults: Rule = (operation, body) => {
      if (operation !== "PutRecords") return undefined;
      calls++;
      const size = (body.Records as unknown[]).length;
      if (calls % 7 === 0) return { kind: "lose-reply" };
      if (calls % 3 === 0 && size > 4)
        return { kind: "fail-records", failed: new Set([size >> 1, (size >> 1) + 2]) };
      return undefined;
    };
    proxy.rules.push(faults);
    const adapter = kinesis.create({ shardCount: 4, endpoint: proxy.endpoint, maxAttempts: 1 });
    const log = await run(adapter, 10, false);
    expect(adapter.writeCounters.partialFailures).toBeGreaterThan(0);
    expect(adapter.readCounters.orphans).toBeGreaterThan(0);
    expect(adapter.readCounters.duplicates).toBeGreaterThan(0);
    expect(log.lines.some((line) => /retry|retrying/i.test(line.message))).toBe(true);
    proxy.rules.length = 0;
  });

  it("the same with throttling (whole calls and every record of a call): backpressure the bus waits out, nothing lost or repeated", async () => {
    proxy.rules.length = 0;
    let calls = 0;
    const faults: Rule = (operation, body) => {
      if (operation !== "PutRecords") return undefined;
      calls++;
      const size = (body.Records as unknown[]).length;
      if (calls % 4 === 0) {
        return {
          kind: "error",
          status: 400,
          type: "ProvisionedThroughputExceededException",
          message: "Rate exceeded for shard",
        };
      }
      // No record stored: with partialFailureRetries 0 the writer hands the batch back at once.
      if (calls % 5 === 0)
        return { kind: "fail-records", failed: new Set(Array.from({ length: size }, (_, i) => i)) };
      return undefined;
    };
    proxy.rules.push(faults);
    const adapter = kinesis.create({
      shardCount: 4,
      endpoint: proxy.endpoint,
      maxAttempts: 1,
      partialFailureRetries: 0,
    });
    // Two in five calls are throttled: enough retries that no batch runs out of them by chance.
    await run(adapter, 10, false, 30);
    expect(calls).toBeGreaterThan(10);
    expect(adapter.readCounters).toMatchObject({ duplicates: 0, corrupt: 0 });
    proxy.rules.length = 0;
  });

  it("a shard whose records fail fatally (KMS): its batches are dropped as rejected, ingested = dispatched + dropped, the rest read exactly", async () => {
    proxy.rules.length = 0;
    const faults: Rule = (operation, body) => {
      if (operation !== "PutRecords") return undefined;
      const records = body.Records as { PartitionKey: string }[];
      if (records[0]?.PartitionKey !== "0002" || records.length < 2) return undefined;
      return { kind: "fail-records", failed: new Set([1]), code: "KMSDisabledException" };
    };
    proxy.rules.push(faults);
    const adapter = kinesis.create({ shardCount: 4, endpoint: proxy.endpoint, maxAttempts: 1 });
    const bus = await createBus({ adapter, shards: 4, logger: recordingLogger(), retryBaseDelayMs: 10 });
    try {
      const ingested = ingest(bus);
      await bus.flush();
      const stats = bus.stats();
      expect(stats.ingested).toBe(EVENTS);
      expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
      expect(stats.droppedBy.adapterRejected).toBeGreaterThan(0);
      expect(stats.dropped).toBe(stats.droppedBy.adapterRejected);
      const polled = await pollAll(bus, 500);
      expect(new Set(polled.map((event) => event.messageId)).size).toBe(polled.length);
      const kept = new Map<string, string[]>();
      for (const event of polled) {
        const { key } = JSON.parse(event.json) as { key: string };
        if (bus.shardFor(key) === 2) continue; // what the failed calls stored before their failed record
        kept.set(key, [...(kept.get(key) ?? []), event.json]);
      }
      const others = new Map([...ingested].filter(([key]) => bus.shardFor(key) !== 2));
      expect(kept).toEqual(others);
    } finally {
      await bus.shutdown({ deadlineMs: 1_000 }).catch(() => {});
      proxy.rules.length = 0;
    }
  });
});
