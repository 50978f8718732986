import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type StreamDescriptionSummary,
} from "@aws-sdk/client-kinesis";
import { AdapterShutdownError, FatalError, type Logger, isAdapterError } from "@netmesh/core/adapter";
import { causeCode } from "./classify.js";
import type { Client } from "./client.js";
import type { KinesisSettings } from "./options.js";
import { sleep } from "./sleep.js";

/** Kinesis's record limit when a stream does not report one: 1 MiB (data plus partition key). */
export const DEFAULT_RECORD_LIMIT_BYTES = 1_048_576;

/** What `init` learned about the stream. */
export interface StreamFacts {
  /** The stream's record limit in bytes (data plus partition key). */
  readonly recordLimitBytes: number;
  /** Open shards when `init` looked. */
  readonly openShards: number;
  /** Whether the adapter created the stream. */
  readonly created: boolean;
}

async function describe(
  client: Client,
  name: string,
  signal: AbortSignal,
): Promise<StreamDescriptionSummary | undefined> {
  try {
    const output = await client.call(`DescribeStreamSummary of stream "${name}"`, signal, (sdk, options) =>
      sdk.send(new DescribeStreamSummaryCommand({ StreamName: name }), options),
    );
    return output.StreamDescriptionSummary;
  } catch (error) {
    if (causeCode(error) === "ResourceNotFoundException") return undefined;
    throw error;
  }
}

async function create(client: Client, settings: KinesisSettings, signal: AbortSignal): Promise<void> {
  const { streamName, shardCount, maxRecordSizeKiB } = settings;
  try {
    const input = {
      StreamName: streamName,
      ShardCount: shardCount,
      ...(maxRecordSizeKiB !== undefined && { MaxRecordSizeInKiB: maxRecordSizeKiB }),
    };
    await client.call(`CreateStream "${streamName}" with ${shardCount} shards`, signal, (sdk, options) =>
      sdk.send(new CreateStreamCommand(input), options),
    );
  } catch (error) {
    const code = causeCode(error);
    // Another process created it first: fine, wait for it like for our own.
    if (code === "ResourceInUseException") return;
    // The account's shard quota will not grow by retrying.
    if (code === "LimitExceededException" && isAdapterError(error)) {
      throw new FatalError(`${error.message.replace(/ \(throttled.*\)$/, "")} (fatal: shard quota reached)`, {
        cause: error.cause,
      });
    }
    throw error;
  }
}

function shutDown(streamName: string): AdapterShutdownError {
  return new AdapterShutdownError(`kinesis adapter was shut down while preparing stream "${streamName}"`);
}

/**
 * {@link prepareSteps} ended by `signal` (the adapter's shutdown): whatever was under way when it
 * aborted, `init` rejects with `AdapterShutdownError` at once.
 */
export async function prepareStream(
  client: Client,
  settings: KinesisSettings,
  logger: Logger,
  signal: AbortSignal,
): Promise<StreamFacts> {
  try {
    return await prepareSteps(client, settings, logger, signal);
  } catch (error) {
    throw signal.aborted ? shutDown(settings.streamName) : error;
  }
}

/**
 * Makes sure the stream exists and accepts writes: describes it, creates it when missing (with
 * `shardCount` shards, if allowed), and waits (bounded by `activeTimeoutMs`, polling with growing
 * pauses) until it is `ACTIVE` (or `UPDATING`, which accepts reads and writes during a reshard).
 * Refuses a stream that is being deleted, and an on-demand stream whose record distribution ignores
 * hash keys (`AUTO`), since per-shard order depends on them.
 */
async function prepareSteps(
  client: Client,
  settings: KinesisSettings,
  logger: Logger,
  signal: AbortSignal,
): Promise<StreamFacts> {
  const { streamName } = settings;
  const deadline = Date.now() + settings.activeTimeoutMs;
  let created = false;
  let pause = 50;
  for (let attempt = 0; ; attempt++) {
    const summary = await describe(client, streamName, signal);
    if (summary === undefined) {
      if (created || attempt > 0) {
        // Created (by us or a racing process) but not visible yet: keep waiting.
      } else if (!settings.createStream) {
        throw new FatalError(
          `kinesis stream "${streamName}" does not exist and createStream is false (fatal: create it first)`,
        );
      } else {
        await create(client, settings, signal);
        created = true;
        logger.info(
          { adapter: "kinesis", stream: streamName, shards: settings.shardCount },
          "kinesis stream created",
        );
      }
    } else {
      const status = summary.StreamStatus;
      if (status === "DELETING") {
        throw new FatalError(
          `kinesis stream "${streamName}" is being deleted (fatal: recreate it or use another name)`,
        );
      }
      if (summary.RecordDistributionStrategy === "AUTO") {
        throw new FatalError(
          `kinesis stream "${streamName}" distributes records AUTOmatically, ignoring hash keys ` +
            "(fatal: per-shard order needs the USER_PARTITION_KEY strategy)",
        );
      }
      if (status === "ACTIVE" || status === "UPDATING") {
        const openShards = summary.OpenShardCount ?? 0;
        if (!created && openShards !== settings.shardCount) {
          logger.info(
            { adapter: "kinesis", stream: streamName, openShards, shardCount: settings.shardCount },
            "kinesis stream exists with another shard count; bus shards keep their hash keys",
          );
        }
        const kib = summary.MaxRecordSizeInKiB;
        return {
          recordLimitBytes: typeof kib === "number" && kib > 0 ? kib * 1024 : DEFAULT_RECORD_LIMIT_BYTES,
          openShards,
          created,
        };
      }
    }
    if (Date.now() + pause > deadline) {
      throw new FatalError(
        `kinesis stream "${streamName}" did not become ACTIVE within ${settings.activeTimeoutMs} ms (fatal: check it in the console)`,
      );
    }
    await sleep(pause, signal);
    // The sleep ends early at shutdown: without this the loop would ask again and again until the deadline.
    if (signal.aborted) throw shutDown(streamName);
    pause = Math.min(pause * 2, 2_000);
  }
}
