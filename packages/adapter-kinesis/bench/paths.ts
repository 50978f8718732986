/**
 * The ways the benchmark moves the same events into and out of the same kinesalite. Write paths:
 * the bus with `KinesisAdapter`, and a hand-written `PutRecords` loop (500 records per call) on a
 * client with the same settings. Read paths: `bus.poll`, `adapter.pollShard` and a hand-written
 * `GetRecords` loop. Every path counts what it stored or read, and the caller checks the counts.
 */
import { Agent } from "node:http";
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type PutRecordsRequestEntry,
} from "@aws-sdk/client-kinesis";
import { type RawEvent, createBus } from "@netmesh/core";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { KinesisAdapter } from "../src/index.js";

/** Credentials and region kinesalite accepts. */
const ACCESS = { region: "us-east-1", credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" } };
/** Events fed to the bus per call (it waits for ring room between calls). */
const INGEST_CHUNK = 16_384;
const WORDS =
  "the model streams tokens while tools and guardrails report verdicts for every agent session".split(" ");

/** The benchmark's events: ~200-byte token events over `sessions` sessions, built before any clock. */
export function tokenEvents(count: number, sessions: number): { key: string; json: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const session = `session-${i % sessions}`;
    const words = Array.from({ length: 12 }, (_, w) => WORDS[(i + w * 7) % WORDS.length]).join(" ");
    const value = {
      type: "token",
      session,
      seq: Math.floor(i / sessions),
      model: "netmesh-sim-70b",
      delta: `${words} \u201c${i}\u201d`,
      finish: null,
      usage: { prompt: 512, completion: Math.floor(i / sessions) },
    };
    return { key: session, json: JSON.stringify(value) };
  });
}

/** A client with the adapter's HTTP settings: HTTP/1.1 keep-alive, 16 sockets, 5 s request timeout. */
export function benchClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    ...ACCESS,
    credentials: { ...ACCESS.credentials },
    endpoint,
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: 16, keepAliveMsecs: 1_000 }),
      connectionTimeout: 3_000,
      requestTimeout: 5_000,
      throwOnRequestTimeout: true,
    }),
  });
}

/** A new adapter on `stream` with the settings the benchmark uses. */
export function benchAdapter(endpoint: string, stream: string): KinesisAdapter {
  return new KinesisAdapter({ streamName: stream, endpoint, ...ACCESS, shardCount: 4 });
}

/** Creates a 4-shard stream and waits until it is ACTIVE. */
export async function createStream(client: KinesisClient, stream: string): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 4 }));
  for (let i = 0; i < 200; i++) {
    const { StreamDescriptionSummary } = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: stream }),
    );
    if (StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`stream ${stream} did not become ACTIVE`);
}

/** Deletes a stream (kinesalite then frees its records). */
export async function deleteStream(client: KinesisClient, stream: string): Promise<void> {
  await client.send(new DeleteStreamCommand({ StreamName: stream }));
}

/** bus → KinesisAdapter: ingest everything (waiting for ring room); `flush()` ends the clock. */
export async function busWrite(
  endpoint: string,
  stream: string,
  raw: readonly RawEvent[],
): Promise<{ run: () => Promise<void>; finish: () => Promise<void> }> {
  const adapter = benchAdapter(endpoint, stream);
  const bus = await createBus({ adapter, shards: 4, backpressure: "block" });
  return {
    async run() {
      for (let offset = 0; offset < raw.length; offset += INGEST_CHUNK) {
        const chunk = raw.slice(offset, offset + INGEST_CHUNK);
        const accepted = await bus.ingestRawManyOrWait(chunk);
        if (accepted !== chunk.length) throw new Error(`bus accepted ${accepted} of ${chunk.length}`);
      }
      await bus.flush();
    },
    async finish() {
      const report = await bus.shutdown();
      if (report.stats.dispatched !== raw.length || report.lossy) {
        throw new Error(
          `bus dispatched ${report.stats.dispatched} of ${raw.length} (lossy: ${report.lossy})`,
        );
      }
    },
  };
}

/**
 * What users hand-write: `PutRecords` of 500 records, partition key = the session, `inFlight` calls at
 * once (each call takes the next 500 events); failed records are resent. Resolves the records stored.
 */
export function putRecordsLoop(
  client: KinesisClient,
  stream: string,
  events: readonly { key: string; json: string }[],
  inFlight: number,
): () => Promise<number> {
  return async () => {
    let next = 0;
    let stored = 0;
    const worker = async () => {
      while (next < events.length) {
        const from = next;
        next = Math.min(events.length, next + 500);
        let records: PutRecordsRequestEntry[] = [];
        for (let i = from; i < next; i++)
          records.push({ Data: Buffer.from(events[i]!.json), PartitionKey: events[i]!.key });
        for (let attempt = 0; records.length > 0 && attempt < 10; attempt++) {
          const output = await client.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
          stored += records.length - (output.FailedRecordCount ?? 0);
          records = records.filter((_, i) => output.Records?.[i]?.ErrorCode !== undefined);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return stored;
  };
}

/** What users hand-write to read: per shard, `GetRecords` of 10,000 from the start, texts decoded. */
export async function getRecordsLoop(client: KinesisClient, stream: string): Promise<number> {
  const { Shards } = await client.send(new ListShardsCommand({ StreamName: stream }));
  const counts = await Promise.all(
    (Shards ?? []).map(async (shard) => {
      let count = 0;
      let { ShardIterator: iterator } = await client.send(
        new GetShardIteratorCommand({
          StreamName: stream,
          ShardId: shard.ShardId!,
          ShardIteratorType: "TRIM_HORIZON",
        }),
      );
      for (let call = 0; call < 10_000 && iterator !== undefined; call++) {
        const output = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        for (const record of output.Records ?? [])
          if (Buffer.from(record.Data!).toString("utf8").length > 0) count++;
        if ((output.Records ?? []).length === 0 && (output.MillisBehindLatest ?? 0) === 0) break;
        iterator = output.NextShardIterator;
      }
      return count;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** `adapter.pollShard` of every bus shard from the start, pages of 10,000, through a fresh adapter. */
export async function pollShardLoop(endpoint: string, stream: string): Promise<number> {
  const adapter = benchAdapter(endpoint, stream);
  await adapter.init();
  const counts = await Promise.all(
    [0, 1, 2, 3].map(async (shard) => {
      let count = 0;
      let cursor: string | undefined;
      for (let page = 0; page < 10_000; page++) {
        const result = await adapter.pollShard(shard, cursor, 10_000);
        count += result.events.length;
        cursor = result.nextId ?? cursor;
        if (!result.hasMore) break;
      }
      return count;
    }),
  );
  await adapter.shutdown();
  return counts.reduce((a, b) => a + b, 0);
}

/** `bus.poll` of everything, pages of 10,000, through a bus over a fresh adapter. */
export async function busPollLoop(endpoint: string, stream: string): Promise<number> {
  const bus = await createBus({ adapter: benchAdapter(endpoint, stream), shards: 4 });
  let count = 0;
  let cursor: string | undefined;
  for (let poll = 0; poll < 10_000; poll++) {
    const page = await bus.poll({ limit: 10_000, ...(cursor !== undefined && { cursor }) });
    if (page.failedShards.length > 0)
      throw new Error(`bus.poll failed on shards ${page.failedShards.join(", ")}`);
    count += page.events.length;
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  await bus.shutdown();
  return count;
}
