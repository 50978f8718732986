import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { FatalError } from "@netmesh/core/adapter";

/** What to do when a shard's stream already exists with settings other than the adapter's. */
export type StreamMismatchPolicy = "fail" | "update";

/** Options of {@link JetStreamAdapter}. Give `url` or `connection`, not both. */
export interface JetStreamAdapterOptions {
  /**
   * Server URL, e.g. `"nats://127.0.0.1:4222"`; several servers comma-separated. Credentials in the URL
   * (`nats://user:secret@host:4222`) are used to connect and redacted everywhere they could be shown.
   */
  readonly url?: string;
  /**
   * A connection the caller opened and owns. The adapter uses it as it is (it must allow headers),
   * never drains or closes it, and only removes its own subscription at shutdown.
   */
  readonly connection?: NatsConnection;
  /**
   * Extra options for the connection the adapter opens from `url` (user and password, token, TLS,
   * `name`, …). `servers` comes from `url`, and `timeout` from `connectTimeoutMs`.
   */
  readonly connectOptions?: Omit<ConnectionOptions, "servers" | "timeout">;
  /**
   * Names the streams `{prefix}_shard_{id}` and the subjects `{prefix}.shard.{id}`. Letters, digits,
   * `_` and `-` only. Default `"netmesh"`.
   */
  readonly prefix?: string;
  /** Bound on connecting at `init`, in ms. Default 5,000. */
  readonly connectTimeoutMs?: number;
  /**
   * Bound on each request to the server, in ms: a stream lookup or creation, a window of publishes
   * waiting for their acks, a window of direct gets. Default 5,000.
   */
  readonly requestTimeoutMs?: number;
  /**
   * How long one `onBatch` keeps waiting out an outage, in ms: a lost connection until it reconnects,
   * JetStream not answering (restart, leader election) until it does, republishing what was in flight
   * (dedup makes that safe). Past it the call fails with a retryable error and the bus retries it.
   * Default: the bus's `adapterTimeoutMs` (given at `init`; the bus aborts the attempt then anyway), or
   * 10,000 when the adapter is used without a bus.
   */
  readonly reconnectWaitMs?: number;
  /** Bound on `shutdown` (batches in flight, then draining the connection), in ms. Default 10,000. */
  readonly drainTimeoutMs?: number;
  /** Replicas of each stream (clustered servers only). Default 1. */
  readonly replicas?: number;
  /** Keep at most this many messages per stream, discarding the oldest. Default: unlimited. */
  readonly maxMessages?: number;
  /**
   * Keep at most this many bytes per stream, discarding the oldest. Default: unlimited. It bounds
   * `capabilities.maxEventBytes` too (the server would acknowledge a larger event and discard it at
   * once, so the adapter refuses it as `tooLarge`); one that leaves no room for an event is refused.
   */
  readonly maxBytes?: number;
  /** Discard messages older than this, in ms. Default: never. */
  readonly maxAgeMs?: number;
  /**
   * The server's dedup window, in ms: a message id seen within it is stored once. It must outlast the
   * bus's retry horizon (all attempts of a batch), and must not exceed `maxAgeMs` (the server refuses
   * that). Default 3,600,000 (1 hour; the NATS default is 2 min), or `maxAgeMs` when that is shorter.
   */
  readonly duplicateWindowMs?: number;
  /**
   * Most publishes of one batch awaiting their acks at once; a larger batch is published in windows of
   * this size, each awaited before the next. Default 16,384 (above the bus's default batch maximum, so
   * a default batch goes out in one window).
   */
  readonly maxAckPending?: number;
  /**
   * Most direct-get requests one `pollShard` keeps in flight, and most messages one pull of a read
   * session asks for (at least 256). Default 1,024.
   */
  readonly maxReadAhead?: number;
  /**
   * A shard's stream exists with other settings than these options ask for: `"fail"` (default) rejects
   * every write to the shard with a `FatalError` naming the differences; `"update"` changes the stream's
   * settings to the options' (the server refuses some changes, e.g. of storage, and that is fatal too).
   */
  readonly onStreamMismatch?: StreamMismatchPolicy;
  /**
   * Prefix of the adapter's reply subjects, and of the client's on the connection the adapter opens.
   * Default: `connectOptions.inboxPrefix`, else `"_INBOX"`; set it when the account's permissions allow
   * replies only under another prefix. A `connection` of your own must have been opened with the same
   * `inboxPrefix` (the client's JetStream API requests use its own).
   */
  readonly inboxPrefix?: string;
}

/** {@link JetStreamAdapterOptions} after validation, with every default applied. */
export interface ResolvedOptions {
  readonly url: string | undefined;
  readonly connection: NatsConnection | undefined;
  readonly connectOptions: Omit<ConnectionOptions, "servers" | "timeout">;
  readonly prefix: string;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly reconnectWaitMs: number | undefined;
  readonly replicas: number;
  readonly maxMessages: number | undefined;
  readonly maxBytes: number | undefined;
  readonly maxAgeMs: number | undefined;
  readonly duplicateWindowMs: number;
  readonly maxAckPending: number;
  readonly maxReadAhead: number;
  readonly onStreamMismatch: StreamMismatchPolicy;
  readonly inboxPrefix: string;
}

/** Default values of the options that have one. */
export const JETSTREAM_DEFAULTS = Object.freeze({
  prefix: "netmesh",
  connectTimeoutMs: 5_000,
  requestTimeoutMs: 5_000,
  drainTimeoutMs: 10_000,
  /** Used when the bus does not give its `adapterTimeoutMs`. */
  reconnectWaitMs: 10_000,
  replicas: 1,
  duplicateWindowMs: 3_600_000,
  maxAckPending: 16_384,
  maxReadAhead: 1_024,
  onStreamMismatch: "fail" as const,
  inboxPrefix: "_INBOX",
});

/** Stream names and subject tokens share these characters; `.`, `*`, `>` and spaces would break both. */
const NAME_PART = /^[A-Za-z0-9_-]{1,200}$/;
/** An inbox prefix is one or more subject tokens without wildcards. */
const INBOX_PREFIX = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
/** setTimeout's limit: a longer bound would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function invalid(name: string, message: string): FatalError {
  return new FatalError(`JetStreamAdapter option ${name} ${message}`);
}

function duration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw invalid(name, `must be a duration in ms, > 0 and ≤ ${MAX_TIMER_MS}, got ${String(value)}`);
  }
  return value;
}

/**
 * Longest stream duration in ms (about 18 years): ms × 10⁶ = ms × 15,625 × 2⁶ is an exact double while
 * ms × 15,625 is a safe integer, so the nanoseconds sent to the server are exact.
 */
const MAX_SPAN_MS = Math.floor(Number.MAX_SAFE_INTEGER / 15_625);

/** A stream setting in ms (sent as nanoseconds), not a timer. */
function span(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_SPAN_MS) {
    throw invalid(name, `must be an integer number of ms in [1, ${MAX_SPAN_MS}], got ${String(value)}`);
  }
  return value;
}

function positiveInteger(name: string, value: number | undefined, max = Number.MAX_SAFE_INTEGER) {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw invalid(name, `must be an integer in [1, ${max}], got ${String(value)}`);
  }
  return value;
}

/**
 * The streams' dedup window: the one given, else the default capped at `maxAgeMs` (the server refuses
 * a `duplicate_window` longer than the stream's `max_age`, so a longer one given is invalid).
 */
function dedupWindow(given: number | undefined, maxAgeMs: number | undefined): number {
  if (given !== undefined && maxAgeMs !== undefined && given > maxAgeMs) {
    throw invalid("duplicateWindowMs", `must not exceed maxAgeMs (${maxAgeMs}), got ${given}`);
  }
  return given ?? Math.min(JETSTREAM_DEFAULTS.duplicateWindowMs, maxAgeMs ?? Number.POSITIVE_INFINITY);
}

/**
 * Validates the options and applies the defaults. Throws a {@link FatalError} (a misconfiguration
 * that retrying cannot fix), never mentioning the URL's credentials.
 */
export function resolveOptions(options: JetStreamAdapterOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new FatalError("JetStreamAdapter needs an options object with url or connection");
  }
  const { url, connection } = options;
  if ((url === undefined) === (connection === undefined)) {
    throw new FatalError("JetStreamAdapter needs exactly one of the options url and connection");
  }
  if (url !== undefined && (typeof url !== "string" || url.trim() === "")) {
    throw invalid("url", "must be a non-empty string");
  }
  const prefix = options.prefix ?? JETSTREAM_DEFAULTS.prefix;
  if (typeof prefix !== "string" || !NAME_PART.test(prefix)) {
    throw invalid("prefix", `must be 1 to 200 letters, digits, _ or -, got ${JSON.stringify(prefix)}`);
  }
  const inboxPrefix =
    options.inboxPrefix ?? options.connectOptions?.inboxPrefix ?? JETSTREAM_DEFAULTS.inboxPrefix;
  if (typeof inboxPrefix !== "string" || !INBOX_PREFIX.test(inboxPrefix)) {
    throw invalid(
      "inboxPrefix",
      `must be subject tokens without wildcards, got ${JSON.stringify(inboxPrefix)}`,
    );
  }
  const onStreamMismatch = options.onStreamMismatch ?? JETSTREAM_DEFAULTS.onStreamMismatch;
  if (onStreamMismatch !== "fail" && onStreamMismatch !== "update") {
    throw invalid("onStreamMismatch", `must be "fail" or "update", got ${JSON.stringify(onStreamMismatch)}`);
  }
  const maxAgeMs = span("maxAgeMs", options.maxAgeMs);
  const duplicateWindowMs = dedupWindow(span("duplicateWindowMs", options.duplicateWindowMs), maxAgeMs);
  return {
    url,
    connection,
    connectOptions: options.connectOptions ?? {},
    prefix,
    connectTimeoutMs: duration(
      "connectTimeoutMs",
      options.connectTimeoutMs,
      JETSTREAM_DEFAULTS.connectTimeoutMs,
    ),
    requestTimeoutMs: duration(
      "requestTimeoutMs",
      options.requestTimeoutMs,
      JETSTREAM_DEFAULTS.requestTimeoutMs,
    ),
    drainTimeoutMs: duration("drainTimeoutMs", options.drainTimeoutMs, JETSTREAM_DEFAULTS.drainTimeoutMs),
    reconnectWaitMs:
      options.reconnectWaitMs === undefined
        ? undefined
        : duration("reconnectWaitMs", options.reconnectWaitMs, JETSTREAM_DEFAULTS.reconnectWaitMs),
    replicas: positiveInteger("replicas", options.replicas, 5) ?? JETSTREAM_DEFAULTS.replicas,
    maxMessages: positiveInteger("maxMessages", options.maxMessages),
    maxBytes: positiveInteger("maxBytes", options.maxBytes),
    maxAgeMs,
    duplicateWindowMs,
    maxAckPending:
      positiveInteger("maxAckPending", options.maxAckPending, 1_000_000) ?? JETSTREAM_DEFAULTS.maxAckPending,
    maxReadAhead:
      positiveInteger("maxReadAhead", options.maxReadAhead, 65_536) ?? JETSTREAM_DEFAULTS.maxReadAhead,
    onStreamMismatch,
    inboxPrefix,
  };
}
