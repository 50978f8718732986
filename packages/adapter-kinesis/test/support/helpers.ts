import { randomBytes } from "node:crypto";
import {
  DeleteStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
} from "@aws-sdk/client-kinesis";
import { type Adapter, type Logger, type StoredEvent, silentLogger } from "@netmesh/core/adapter";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { afterAll, afterEach, inject } from "vitest";
import { KinesisAdapter, type KinesisAdapterOptions, decodeRecord } from "../../src/index.js";

/** Credentials kinesalite accepts (it checks none). */
export const TEST_CREDENTIALS = Object.freeze({
  accessKeyId: "AKIDLOCALTEST",
  secretAccessKey: "local-test-secret",
});
/** Any region works with kinesalite. */
export const REGION = "us-east-1";

/** A stream name no other test uses: `t-<tag>-<pid>-<random>`. */
export function uniqueStream(tag: string): string {
  return `t-${tag}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** A plain SDK client for the test's own calls (DeleteStream, SplitShard, inspection). */
export function rawClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: REGION,
    credentials: { ...TEST_CREDENTIALS }, // the SDK writes into the object it is given
    requestHandler: new NodeHttpHandler({ requestTimeout: 10_000, throwOnRequestTimeout: true }),
  });
}

/** Options of a test adapter: anything, with a stream name made up when none is given. */
export type TestAdapterOptions = Partial<KinesisAdapterOptions> & { readonly logger?: Logger };

/**
 * Adapters on the shared kinesalite (or another endpoint): registers hooks that shut them down and
 * delete their streams after every test. Call at the top of a test file.
 */
export function useKinesis(tag: string) {
  const endpoint = inject("kinesisEndpoint");
  const adapters: Adapter[] = [];
  const streams = new Set<string>();
  const admin = rawClient(endpoint);
  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((adapter) => adapter.shutdown()));
    for (const stream of streams) {
      await admin.send(new DeleteStreamCommand({ StreamName: stream })).catch(() => {});
    }
    streams.clear();
  });
  afterAll(() => admin.destroy());
  const make = (options: TestAdapterOptions = {}) => {
    const streamName = options.streamName ?? uniqueStream(tag);
    streams.add(streamName);
    const adapter = new KinesisAdapter({
      endpoint,
      region: REGION,
      credentials: TEST_CREDENTIALS,
      ...options,
      streamName,
    });
    adapters.push(adapter);
    return adapter;
  };
  return {
    endpoint,
    admin,
    /** A new adapter, not initialised. */
    create: make,
    /** A new, initialised adapter. */
    async ready(options: TestAdapterOptions = {}) {
      const adapter = make(options);
      await adapter.init({ logger: options.logger ?? silentLogger });
      return adapter;
    },
  };
}

/** Reads a shard to its end with pages of `limit`; fails if it does not end within `maxPages`. */
export async function readAll(
  adapter: Adapter,
  shard: number,
  afterId?: string,
  limit = 1000,
  maxPages = 10_000,
) {
  const events: StoredEvent[] = [];
  let cursor = afterId;
  for (let page = 0; page < maxPages; page++) {
    const result = await adapter.pollShard(shard, cursor, limit);
    events.push(...result.events);
    if (result.nextId !== undefined) cursor = result.nextId;
    if (!result.hasMore) return events;
  }
  throw new Error(`shard ${shard} did not end within ${maxPages} pages`);
}

/** One captured log line. */
export interface LogLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A logger that keeps every line, for assertions. */
export function recordingLogger(): Logger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * The sequence numbers (within producer and bus shard) of every record in `streamName`, per Kinesis
 * shard in listing order, in stored order: what Kinesis holds, copies and orphans included.
 */
export async function storedSequences(admin: KinesisClient, streamName: string): Promise<number[][]> {
  const { Shards } = await admin.send(new ListShardsCommand({ StreamName: streamName }));
  const result: number[][] = [];
  for (const shard of Shards ?? []) {
    const { ShardIterator } = await admin.send(
      new GetShardIteratorCommand({
        StreamName: streamName,
        ShardId: shard.ShardId!,
        ShardIteratorType: "TRIM_HORIZON",
      }),
    );
    const { Records } = await admin.send(new GetRecordsCommand({ ShardIterator: ShardIterator! }));
    result.push(
      (Records ?? []).map((record) => {
        const decoded = decodeRecord(record.Data!);
        if (!decoded.ok) throw new Error(decoded.reason);
        return decoded.record.sequence;
      }),
    );
  }
  return result;
}
