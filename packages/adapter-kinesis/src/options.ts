import type { KinesisClientConfig } from "@aws-sdk/client-kinesis";
import { redactUrl } from "@netmesh/core/adapter";

/** Credentials for the client: static keys or a provider function, as the AWS SDK accepts them. */
export type KinesisCredentials = NonNullable<KinesisClientConfig["credentials"]>;

/** Client settings the adapter leaves to you (everything it does not set itself). */
export type ExtraClientConfig = Omit<
  KinesisClientConfig,
  "region" | "endpoint" | "credentials" | "requestHandler" | "maxAttempts"
>;

/** Options of {@link KinesisAdapter}. Only `streamName` is required. */
export interface KinesisAdapterOptions {
  /** The Kinesis data stream holding every bus shard (1–128 characters of `[a-zA-Z0-9_.-]`). */
  readonly streamName: string;
  /** AWS region. Default: the SDK's region chain (`AWS_REGION`, profile). Any region for kinesalite. */
  readonly region?: string;
  /** Endpoint URL, e.g. `"http://127.0.0.1:4567"` for kinesalite. Default: the region's endpoint. */
  readonly endpoint?: string;
  /** Static credentials or a provider. Default: the SDK's default provider chain. Never logged. */
  readonly credentials?: KinesisCredentials;
  /** Shards of the stream when the adapter creates it. Default 4; a power of two spreads bus shards best. */
  readonly shardCount?: number;
  /** Create the stream at `init` when it does not exist. Default true; false makes a missing stream fatal. */
  readonly createStream?: boolean;
  /** Record size limit (KiB, 1,024–10,240) for a stream the adapter creates. Default: Kinesis's (1 MiB). */
  readonly maxRecordSizeKiB?: number;
  /** Bound on waiting at `init` for the stream to become `ACTIVE`, ms. Default 120,000. */
  readonly activeTimeoutMs?: number;
  /**
   * Read-side dedup window, ms: a retried record stored within this time of its first copy is read
   * once. It must cover the bus's whole retry horizon (`(retries + 1) × adapterTimeoutMs` plus back-off:
   * about 41 s with the bus defaults). A reader starting from a cursor scans this much history before
   * it. Default 60,000.
   */
  readonly dedupWindowMs?: number;
  /** Bound on one HTTP request to Kinesis, ms. Default 5,000. */
  readonly requestTimeoutMs?: number;
  /** Bound on opening a connection, ms. Default 3,000. */
  readonly connectTimeoutMs?: number;
  /** Bound on the `DescribeStreamSummary` of `isHealthy`, ms. Default 2,000. */
  readonly healthCheckTimeoutMs?: number;
  /** Keep-alive sockets in the pool. Default `max(16, 4 × shardCount)`. */
  readonly maxSockets?: number;
  /** Attempts the SDK makes per request (its own retries of 5xx and throttling). Default 3. */
  readonly maxAttempts?: number;
  /**
   * Resends of a partially failed `PutRecords` that store none of its records (no progress), in a row,
   * before `onBatch` rejects with a retryable `BackendBackpressureError`; resends that make progress
   * are not counted. Default 5.
   */
  readonly partialFailureRetries?: number;
  /** `GetRecords` calls one `pollShard` may make to fill its page (a cold start's look-back aside). Default 10. */
  readonly maxFetchesPerPoll?: number;
  /** Pause of `readShard` when it has caught up, ms (Kinesis allows 5 reads per second per shard). Default 250. */
  readonly followIntervalMs?: number;
  /** Bytes of decoded events the read cache keeps across all shards. Default 64 MiB. */
  readonly readCacheBytes?: number;
  /**
   * Anything else for the `KinesisClient` (retry strategy, user agent, …). What the options above set
   * (region, endpoint, credentials, maxAttempts, the request handler) is refused here with a `TypeError`.
   */
  readonly clientConfig?: ExtraClientConfig;
}

/** The options after defaults and validation (`adapter.settings`). Credentials are not repeated here. */
export interface KinesisSettings {
  /** See {@link KinesisAdapterOptions.streamName}. */
  readonly streamName: string;
  /** See {@link KinesisAdapterOptions.region}. */
  readonly region: string | undefined;
  /** See {@link KinesisAdapterOptions.endpoint}. */
  readonly endpoint: string | undefined;
  /** See {@link KinesisAdapterOptions.shardCount}. */
  readonly shardCount: number;
  /** See {@link KinesisAdapterOptions.createStream}. */
  readonly createStream: boolean;
  /** See {@link KinesisAdapterOptions.maxRecordSizeKiB}. */
  readonly maxRecordSizeKiB: number | undefined;
  /** See {@link KinesisAdapterOptions.activeTimeoutMs}. */
  readonly activeTimeoutMs: number;
  /** See {@link KinesisAdapterOptions.dedupWindowMs}. */
  readonly dedupWindowMs: number;
  /** See {@link KinesisAdapterOptions.requestTimeoutMs}. */
  readonly requestTimeoutMs: number;
  /** See {@link KinesisAdapterOptions.connectTimeoutMs}. */
  readonly connectTimeoutMs: number;
  /** See {@link KinesisAdapterOptions.healthCheckTimeoutMs}. */
  readonly healthCheckTimeoutMs: number;
  /** See {@link KinesisAdapterOptions.maxSockets}. */
  readonly maxSockets: number;
  /** See {@link KinesisAdapterOptions.maxAttempts}. */
  readonly maxAttempts: number;
  /** See {@link KinesisAdapterOptions.partialFailureRetries}. */
  readonly partialFailureRetries: number;
  /** See {@link KinesisAdapterOptions.maxFetchesPerPoll}. */
  readonly maxFetchesPerPoll: number;
  /** See {@link KinesisAdapterOptions.followIntervalMs}. */
  readonly followIntervalMs: number;
  /** See {@link KinesisAdapterOptions.readCacheBytes}. */
  readonly readCacheBytes: number;
}

/** Defaults of the optional settings. */
export const DEFAULTS = Object.freeze({
  shardCount: 4,
  createStream: true,
  activeTimeoutMs: 120_000,
  dedupWindowMs: 60_000,
  requestTimeoutMs: 5_000,
  connectTimeoutMs: 3_000,
  healthCheckTimeoutMs: 2_000,
  maxAttempts: 3,
  partialFailureRetries: 5,
  maxFetchesPerPoll: 10,
  followIntervalMs: 250,
  readCacheBytes: 64 * 1024 * 1024,
});

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
/** setTimeout's limit: longer timers fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `KinesisAdapter option ${name} must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return value;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`KinesisAdapter option ${name} must be a non-empty string`);
  }
  return value;
}

/** Applies defaults and checks every option; throws `TypeError`/`RangeError` naming the bad one. */
export function resolveSettings(options: KinesisAdapterOptions): KinesisSettings {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("KinesisAdapter needs options: { streamName, region?, endpoint?, credentials?, … }");
  }
  if (typeof options.streamName !== "string" || !STREAM_NAME.test(options.streamName)) {
    throw new TypeError("KinesisAdapter option streamName must be 1–128 characters of [a-zA-Z0-9_.-]");
  }
  const endpoint = optionalString("endpoint", options.endpoint);
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/i.test(endpoint)) {
    throw new TypeError("KinesisAdapter option endpoint must be an http:// or https:// URL");
  }
  const createStream = options.createStream ?? DEFAULTS.createStream;
  if (typeof createStream !== "boolean")
    throw new TypeError("KinesisAdapter option createStream must be a boolean");
  const shardCount = integer("shardCount", options.shardCount ?? DEFAULTS.shardCount, 1, 10_000);
  const pick = (name: keyof typeof DEFAULTS & keyof KinesisAdapterOptions, min: number, max: number) =>
    integer(name, options[name] ?? DEFAULTS[name], min, max);
  return {
    streamName: options.streamName,
    region: optionalString("region", options.region),
    // Settings are public (and get logged): user-info in an endpoint URL is hidden here.
    endpoint: endpoint === undefined ? undefined : redactUrl(endpoint),
    shardCount,
    createStream,
    maxRecordSizeKiB:
      options.maxRecordSizeKiB === undefined
        ? undefined
        : integer("maxRecordSizeKiB", options.maxRecordSizeKiB, 1024, 10_240),
    activeTimeoutMs: pick("activeTimeoutMs", 1, MAX_TIMER_MS),
    dedupWindowMs: pick("dedupWindowMs", 1, 7 * 24 * 3_600_000),
    requestTimeoutMs: pick("requestTimeoutMs", 1, MAX_TIMER_MS),
    connectTimeoutMs: pick("connectTimeoutMs", 1, MAX_TIMER_MS),
    healthCheckTimeoutMs: pick("healthCheckTimeoutMs", 1, MAX_TIMER_MS),
    maxSockets: integer("maxSockets", options.maxSockets ?? Math.max(16, 4 * shardCount), 1, 100_000),
    maxAttempts: pick("maxAttempts", 1, 20),
    partialFailureRetries: pick("partialFailureRetries", 0, 100),
    maxFetchesPerPoll: pick("maxFetchesPerPoll", 1, 10_000),
    followIntervalMs: pick("followIntervalMs", 1, MAX_TIMER_MS),
    readCacheBytes: pick("readCacheBytes", 1, Number.MAX_SAFE_INTEGER),
  };
}

/** Static keys (non-empty strings, an optional session token) or a provider function. */
export function checkCredentials(credentials: unknown): KinesisCredentials | undefined {
  if (credentials === undefined || typeof credentials === "function")
    return credentials as KinesisCredentials | undefined;
  const parts = credentials as { accessKeyId?: unknown; secretAccessKey?: unknown; sessionToken?: unknown };
  const text = (value: unknown) => typeof value === "string" && value.length > 0;
  if (
    typeof credentials !== "object" ||
    credentials === null ||
    !text(parts.accessKeyId) ||
    !text(parts.secretAccessKey) ||
    (parts.sessionToken !== undefined && typeof parts.sessionToken !== "string")
  ) {
    throw new TypeError(
      "KinesisAdapter option credentials must be { accessKeyId, secretAccessKey, sessionToken? } or a provider",
    );
  }
  return credentials as KinesisCredentials;
}

/** What the adapter sets on the client itself, each from an option of its own. */
const OWN_CLIENT_SETTINGS: ReadonlyMap<string, string> = new Map([
  ["region", "region"],
  ["endpoint", "endpoint"],
  ["credentials", "credentials"],
  ["maxAttempts", "maxAttempts"],
  ["requestHandler", "requestTimeoutMs, connectTimeoutMs and maxSockets"],
]);

/**
 * An object of further client settings. What the adapter sets itself is refused there: it would be
 * overridden, or be in force without `settings` showing it.
 */
export function checkClientConfig(config: unknown): ExtraClientConfig | undefined {
  if (config === undefined) return undefined;
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new TypeError("KinesisAdapter option clientConfig must be an object of KinesisClient settings");
  }
  for (const [key, value] of Object.entries(config)) {
    const instead = OWN_CLIENT_SETTINGS.get(key);
    if (instead !== undefined && value !== undefined) {
      throw new TypeError(
        `KinesisAdapter option clientConfig.${key} is not taken: use the option ${instead}`,
      );
    }
  }
  return config as ExtraClientConfig;
}
