import { DescribeStreamSummaryCommand } from "@aws-sdk/client-kinesis";
import {
  type AdapterCapabilities,
  type AdapterContext,
  AdapterBase,
  type Batch,
  type BatchResult,
  FatalError,
  type ReadShardOptions,
  type ShardPage,
  isAdapterError,
} from "@netmesh/core/adapter";
import { classify } from "./classify.js";
import { Client } from "./client.js";
import { HashKeys } from "./hash-keys.js";
import { Lineage } from "./lineage.js";
import {
  type KinesisAdapterOptions,
  type KinesisCredentials,
  type KinesisSettings,
  checkClientConfig,
  checkCredentials,
  resolveSettings,
} from "./options.js";
import { Reader, isSequenceNumber } from "./reader.js";
import { RECORD_OVERHEAD_BYTES } from "./record-format.js";
import { Redactor } from "./redaction.js";
import type { ReadCounters } from "./shard-log.js";
import { DEFAULT_RECORD_LIMIT_BYTES, type StreamFacts, prepareStream } from "./stream-setup.js";
import { type WriteCounters, Writer } from "./writer.js";

/** The capabilities for a stream whose records may hold `recordLimitBytes` (data plus partition key). */
function capabilitiesFor(recordLimitBytes: number, dedupWindowMs: number): AdapterCapabilities {
  return Object.freeze({
    readable: true,
    dedup: "read",
    dedupWindowMs,
    persistent: true,
    ordering: "shard",
    maxEventBytes: recordLimitBytes - RECORD_OVERHEAD_BYTES,
    streamingReads: true,
    listsShards: false,
    // Record data are views of the batch's bytes.
    payload: "bytes",
  });
}

/**
 * Stores a bus's events in one AWS Kinesis data stream through `@aws-sdk/client-kinesis` v3.
 *
 * - **Layout**: every record of bus shard `s` carries the `ExplicitHashKey` of `s` (a fixed point of
 *   the hash-key space) and partition key `s` in 4 hex digits, so a bus shard is one ordered sequence
 *   in one Kinesis shard, also across resharding. Record data: a 31-byte header (producer, sequence,
 *   timestamp, request id and index) and the JSON text byte for byte.
 * - **Writes**: `PutRecords` of at most 500 records / 5 MiB; partially failed calls are resent from
 *   the first failed record on, in order.
 * - **Reads**: `GetShardIterator` + `GetRecords` along the bus shard's lineage of Kinesis shards;
 *   cursors are Kinesis sequence numbers. Kinesis has no server-side dedup, so readers drop retried
 *   copies and partial-failure orphans (`dedup: "read"`, within `dedupWindowMs`).
 * - **Errors** are the contract's classes: throttling is backpressure, a missing stream, access,
 *   signature and validation errors are fatal. Credentials never appear in errors or logs.
 *
 * @example
 * ```ts
 * const adapter = new KinesisAdapter({ streamName: "events", region: "eu-west-1" });
 * const bus = await createBus({ adapter, shards: 4 });
 * ```
 */
export class KinesisAdapter extends AdapterBase {
  /** Always `"kinesis"`. */
  readonly name = "kinesis";
  /** The options in force, defaults applied (credentials are not repeated here). */
  readonly settings: KinesisSettings;
  /** What the writer did since the adapter was created. */
  readonly writeCounters: WriteCounters = { requests: 0, records: 0, partialFailures: 0 };
  /** What readers examined and skipped since the adapter was created. */
  readonly readCounters: ReadCounters = { fetches: 0, duplicates: 0, orphans: 0, corrupt: 0, coldStarts: 0 };
  private readonly redactor = new Redactor();
  private readonly credentials: KinesisCredentials | undefined;
  private readonly endpoint: string | undefined;
  private readonly clientConfig: KinesisAdapterOptions["clientConfig"];
  private readonly hashKeys = new HashKeys();
  private readonly written = new Map<number, string>();
  private caps: AdapterCapabilities;
  private facts: StreamFacts | undefined;
  private client: Client | undefined;
  private writer: Writer | undefined;
  private reader: Reader | undefined;

  /** Validates the options (throwing `TypeError`/`RangeError`); connects only in `init`. */
  constructor(options: KinesisAdapterOptions) {
    super();
    this.settings = resolveSettings(options);
    this.credentials = checkCredentials(options.credentials);
    this.endpoint = options.endpoint;
    this.clientConfig = checkClientConfig(options.clientConfig);
    this.caps = capabilitiesFor(DEFAULT_RECORD_LIMIT_BYTES, this.settings.dedupWindowMs);
  }

  /**
   * What the adapter does (contract rule 12). `maxEventBytes` is the stream's record limit (read at
   * `init`: 1 MiB unless raised) less 35 bytes of header and partition key; it is settled when `init`
   * resolves and never changes afterwards.
   */
  get capabilities(): AdapterCapabilities {
    return this.caps;
  }

  /** What `init` learned about the stream (undefined before). */
  get stream(): StreamFacts | undefined {
    return this.facts;
  }

  /**
   * Builds the client, resolves region and credentials, creates or validates the stream and waits for
   * it to be `ACTIVE`, and settles the capabilities from its record limit. A failure destroys the client.
   */
  protected async open(context: AdapterContext): Promise<void> {
    const { settings } = this;
    const client = new Client(settings, this.endpoint, this.credentials, this.clientConfig, this.redactor);
    this.client = client;
    try {
      await this.checkClient(client);
      this.facts = await prepareStream(client, settings, context.logger, this.shutdownSignal);
    } catch (error) {
      this.client = undefined;
      client.destroy();
      throw error;
    }
    this.caps = capabilitiesFor(this.facts.recordLimitBytes, settings.dedupWindowMs);
    this.writer = new Writer({
      client,
      streamName: settings.streamName,
      hashKeys: this.hashKeys,
      partialFailureRetries: settings.partialFailureRetries,
      maxEventBytes: this.caps.maxEventBytes,
      counters: this.writeCounters,
      stopped: this.shutdownSignal,
      wroteTo: (busShard, kinesisShard) => this.written.set(busShard, kinesisShard),
    });
    this.reader = new Reader(
      {
        client,
        streamName: settings.streamName,
        lineage: new Lineage(client, settings.streamName),
        logger: context.logger,
        dedupWindowMs: settings.dedupWindowMs,
        signal: this.shutdownSignal,
        writtenTo: (busShard) => this.written.get(busShard),
        counters: this.readCounters,
      },
      settings,
    );
    const horizon = context.adapterTimeoutMs === undefined ? undefined : 4 * context.adapterTimeoutMs + 4_000;
    if (horizon !== undefined && horizon > settings.dedupWindowMs) {
      context.logger.warn(
        { adapter: "kinesis", dedupWindowMs: settings.dedupWindowMs, retryHorizonMs: horizon },
        "kinesis dedupWindowMs is shorter than the bus's retry horizon with 3 retries: raise it",
      );
    }
    context.logger.info(
      {
        adapter: "kinesis",
        stream: settings.streamName,
        endpoint: settings.endpoint,
        openShards: this.facts.openShards,
        maxEventBytes: this.caps.maxEventBytes,
      },
      "kinesis adapter ready",
    );
  }

  /** A region must be known and credentials must resolve: both fail fast, at `init`. */
  private async checkClient(client: Client): Promise<void> {
    try {
      await client.sdk.config.region();
      await client.learnCredentials();
    } catch (error) {
      if (isAdapterError(error)) throw error;
      const failure = classify(error, "resolving the region and credentials", this.redactor);
      throw new FatalError(failure.message.replace(/ \(fatal:.*\)$/, "").concat(" (fatal: configure them)"), {
        cause: failure.cause,
      });
    }
  }

  /** Stores a batch with `PutRecords` (see `Writer`). */
  protected write(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    return this.writer!.write(batch, signal);
  }

  /** Whether `id` has the form of a Kinesis sequence number, the form of every entry id of this adapter. */
  isEntryId(id: string): boolean {
    return isSequenceNumber(id);
  }

  /** One page of a bus shard (see `Reader`). */
  protected read(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    return this.reader!.page(shard, afterId, limit);
  }

  /** The streaming read: pages as they come, a short pause when caught up. */
  protected override follow(
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    return this.reader!.follow(shard, afterId, options);
  }

  /** The stream answers `DescribeStreamSummary` as `ACTIVE` or `UPDATING` within `healthCheckTimeoutMs`. */
  protected override async ping(): Promise<boolean> {
    const input = { StreamName: this.settings.streamName };
    const signal = AbortSignal.timeout(this.settings.healthCheckTimeoutMs);
    const output = await this.connected().call("health check", signal, (sdk, options) =>
      sdk.send(new DescribeStreamSummaryCommand(input), options),
    );
    const status = output.StreamDescriptionSummary?.StreamStatus;
    return status === "ACTIVE" || status === "UPDATING";
  }

  /** Destroys the client's sockets and forgets cached reads. */
  protected async close(): Promise<void> {
    this.reader?.clear();
    this.client?.destroy();
    this.client = undefined;
  }

  private connected(): Client {
    if (this.client === undefined) throw new FatalError("kinesis adapter is not connected");
    return this.client;
  }
}
