import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
} from "@aws-sdk/client-kinesis";
import { AdapterShutdownError, FatalError, type ShardPage, silentLogger } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KinesisAdapter, RECORD_OVERHEAD_BYTES } from "../src/index.js";
import { Producer, events, live } from "./support/batches.js";
import {
  REGION,
  TEST_CREDENTIALS,
  rawClient,
  readAll,
  recordingLogger,
  uniqueStream,
  useKinesis,
} from "./support/helpers.js";
import { type LocalKinesis, startKinesalite } from "./support/kinesalite.js";
import { type Action, type KinesisProxy, nextOf, startKinesisProxy } from "./support/kinesis-proxy.js";

const kinesis = useKinesis("life");

describe("stream set-up at init", () => {
  it("creates a missing stream with shardCount shards and settles capabilities from its record limit", async () => {
    const adapter = kinesis.create({ shardCount: 3 });
    const before = adapter.capabilities;
    await adapter.init({ logger: silentLogger });
    const { Shards } = await kinesis.admin.send(
      new ListShardsCommand({ StreamName: adapter.settings.streamName }),
    );
    expect(Shards).toHaveLength(3);
    expect(adapter.stream).toEqual({ recordLimitBytes: 1_048_576, openShards: 3, created: true });
    // 1 MiB (data plus partition key) less 31 bytes of header and 4 of partition key, exactly.
    expect(adapter.capabilities).toEqual({
      readable: true,
      dedup: "read",
      dedupWindowMs: 60_000,
      persistent: true,
      ordering: "shard",
      maxEventBytes: 1_048_541,
      streamingReads: true,
      listsShards: false,
      payload: "bytes",
    });
    expect(adapter.capabilities).toEqual(before);
    expect(Object.isFrozen(adapter.capabilities)).toBe(true);
  });

  it("validates an existing stream, whatever its shard count, and concurrent inits of one new stream both succeed", async () => {
    const streamName = uniqueStream("life-race");
    const logs = recordingLogger();
    const [a, b] = [
      kinesis.create({ streamName, shardCount: 2 }),
      kinesis.create({ streamName, shardCount: 2 }),
    ];
    await Promise.all([a.init({ logger: silentLogger }), b.init({ logger: silentLogger })]);
    const other = kinesis.create({ streamName, shardCount: 8 });
    await other.init({ logger: logs });
    expect(other.stream?.created).toBe(false);
    expect(logs.lines.some((line) => /another shard count/.test(line.message))).toBe(true);
    const producer = new Producer();
    const batch = producer.batch(1, events("race", 4));
    await a.onBatch(batch, live());
    expect((await readAll(other, 1)).map((event) => event.json)).toEqual(batch.events);
  });

  it("logs a warning when dedupWindowMs is shorter than the bus's retry horizon", async () => {
    const logs = recordingLogger();
    const adapter = kinesis.create({ dedupWindowMs: 5_000 });
    await adapter.init({ logger: logs, adapterTimeoutMs: 10_000 });
    expect(logs.lines.some((line) => line.level === "warn" && /dedupWindowMs/.test(line.message))).toBe(true);
  });
});

describe("what DescribeStreamSummary tells at init (answered by a proxy: kinesalite knows neither field)", () => {
  let proxy: KinesisProxy;
  beforeAll(async () => {
    proxy = await startKinesisProxy(kinesis.endpoint);
  });
  afterAll(() => proxy.close());
  const summary = (streamName: string, extra: Record<string, unknown>): Action => ({
    kind: "reply",
    body: {
      StreamDescriptionSummary: {
        StreamName: streamName,
        StreamStatus: "ACTIVE",
        StreamModeDetails: { StreamMode: "ON_DEMAND" },
        OpenShardCount: 4,
        ...extra,
      },
    },
  });

  it("a raised record limit (MaxRecordSizeInKiB) settles maxEventBytes, and the writer refuses one byte more alone", async () => {
    proxy.rules.length = 0;
    const streamName = uniqueStream("life-limit");
    await (await kinesis.ready({ streamName })).shutdown(); // the stream exists
    proxy.rules.push(nextOf("DescribeStreamSummary", summary(streamName, { MaxRecordSizeInKiB: 2_048 })));
    const adapter = await kinesis.ready({ streamName, endpoint: proxy.endpoint });
    expect(adapter.stream?.recordLimitBytes).toBe(2 * 1_048_576);
    expect(adapter.capabilities.maxEventBytes).toBe(2 * 1_048_576 - RECORD_OVERHEAD_BYTES);
    expect(Object.isFrozen(adapter.capabilities)).toBe(true);
    const max = adapter.capabilities.maxEventBytes;
    const texts = ["{}", `"${"x".repeat(max - 1)}"`, "[]"];
    const before = proxy.operations.length;
    const result = await adapter.onBatch(new Producer().batch(0, texts), live());
    expect(result?.rejected?.map(({ index, reason }) => ({ index, reason }))).toEqual([
      { index: 1, reason: "tooLarge" },
    ]);
    expect(proxy.operations.slice(before)).toEqual(["PutRecords"]);
  });

  it("the account's shard quota reached at creation (LimitExceededException) is fatal, not throttling", async () => {
    proxy.rules.length = 0;
    proxy.rules.push(
      nextOf("CreateStream", {
        kind: "error",
        status: 400,
        type: "LimitExceededException",
        message: "This request would exceed the shard limit for the account",
      }),
    );
    const error = await kinesis
      .create({ endpoint: proxy.endpoint, maxAttempts: 1 })
      .init({ logger: silentLogger })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/LimitExceededException.*shard quota/);
  });

  it("an on-demand stream distributing records AUTOmatically (ignoring hash keys) is refused at init as fatal", async () => {
    proxy.rules.length = 0;
    const streamName = uniqueStream("life-auto");
    await (await kinesis.ready({ streamName })).shutdown();
    proxy.rules.push(
      nextOf("DescribeStreamSummary", summary(streamName, { RecordDistributionStrategy: "AUTO" })),
    );
    const error = await kinesis
      .create({ streamName, endpoint: proxy.endpoint })
      .init({ logger: silentLogger })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/AUTO.*USER_PARTITION_KEY/);
  });
});

describe("with a kinesalite of our own (slow stream transitions, connection counts)", () => {
  let own: LocalKinesis;
  beforeAll(async () => {
    own = await startKinesalite({ delayMs: 300 });
  });
  afterAll(() => own.close());
  const make = (options: { streamName?: string; activeTimeoutMs?: number } = {}) =>
    new KinesisAdapter({
      streamName: options.streamName ?? uniqueStream("own"),
      endpoint: own.endpoint,
      region: REGION,
      credentials: TEST_CREDENTIALS,
      ...(options.activeTimeoutMs !== undefined && { activeTimeoutMs: options.activeTimeoutMs }),
    });
  const connections = () =>
    new Promise<number>((resolve) => own.server.getConnections((_, count) => resolve(count)));

  it("waits for a new stream to become ACTIVE, bounded by activeTimeoutMs", async () => {
    const slow = make({ activeTimeoutMs: 100 });
    const error = await slow.init({ logger: silentLogger }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/did not become ACTIVE within 100 ms/);
    await slow.shutdown();

    const adapter = make();
    const started = performance.now();
    await adapter.init({ logger: silentLogger });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    const admin = rawClient(own.endpoint);
    const { StreamDescriptionSummary } = await admin.send(
      new DescribeStreamSummaryCommand({ StreamName: adapter.settings.streamName }),
    );
    expect(StreamDescriptionSummary?.StreamStatus).toBe("ACTIVE");

    // A stream being deleted is refused at once.
    await admin.send(new DeleteStreamCommand({ StreamName: adapter.settings.streamName }));
    const late = make({ streamName: adapter.settings.streamName });
    const deleting = await late.init({ logger: silentLogger }).catch((caught: unknown) => caught);
    expect(deleting).toBeInstanceOf(FatalError);
    expect((deleting as Error).message).toMatch(/being deleted/);
    admin.destroy();
    await Promise.all([adapter.shutdown(), late.shutdown()]);
  });

  it("a failed init closes its sockets and can be called again: it succeeds once the stream exists", async () => {
    const streamName = uniqueStream("own-retry");
    const adapter = new KinesisAdapter({
      streamName,
      endpoint: own.endpoint,
      region: REGION,
      credentials: TEST_CREDENTIALS,
      createStream: false,
    });
    const missing = await adapter.init({ logger: silentLogger }).catch((caught: unknown) => caught);
    expect(missing).toBeInstanceOf(FatalError);
    for (let i = 0; i < 50 && (await connections()) > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await connections()).toBe(0);
    expect(await adapter.isHealthy()).toBe(false);
    await expect(adapter.pollShard(0, undefined, 1)).rejects.toBeInstanceOf(FatalError);

    const admin = rawClient(own.endpoint);
    await admin.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
    admin.destroy();
    await adapter.init({ logger: silentLogger }); // waits for ACTIVE (300 ms here)
    expect(adapter.stream?.created).toBe(false);
    const batch = new Producer().batch(0, events("retry", 3));
    await adapter.onBatch(batch, live());
    expect((await readAll(adapter, 0)).map((event) => event.json)).toEqual(batch.events);
    expect(await adapter.isHealthy()).toBe(true);
    await adapter.shutdown();
  });

  it("shutdown while init waits for a new stream ends the wait at once; init rejects with AdapterShutdownError", async () => {
    const slow = await startKinesalite({ delayMs: 3_000 });
    try {
      const adapter = new KinesisAdapter({
        streamName: uniqueStream("own-stop"),
        endpoint: slow.endpoint,
        region: REGION,
        credentials: TEST_CREDENTIALS,
      });
      const init = adapter.init({ logger: silentLogger }).catch((caught: unknown) => caught);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = performance.now();
      await adapter.shutdown();
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(await init).toBeInstanceOf(AdapterShutdownError);
    } finally {
      await slow.close();
    }
  });

  it("shutdown destroys the client's sockets, ends open readShard iterations, and refuses later calls", async () => {
    const adapter = make();
    await adapter.init({ logger: silentLogger });
    const producer = new Producer();
    await Promise.all(
      [0, 1, 2, 3].map((shard) => adapter.onBatch(producer.batch(shard, events("s", 5)), live())),
    );
    expect(await connections()).toBeGreaterThan(0);
    const pages: ShardPage[] = [];
    const following = (async () => {
      for await (const page of adapter.readShard(0, undefined, {
        signal: new AbortController().signal,
        limit: 10,
      })) {
        pages.push(page);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await adapter.shutdown();
    await following; // ends without an error
    expect(pages.flatMap((page) => page.events)).toHaveLength(5);
    for (let i = 0; i < 50 && (await connections()) > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await connections()).toBe(0);
    expect(await adapter.isHealthy()).toBe(false);
    await expect(adapter.onBatch(producer.batch(0, ["{}"]), live())).rejects.toBeInstanceOf(
      AdapterShutdownError,
    );
    await expect(adapter.pollShard(0, undefined, 1)).rejects.toBeInstanceOf(AdapterShutdownError);
  });
});
