import type { Adapter } from "./contract/adapter.js";
import { type Logger, silentLogger } from "./contract/logger.js";
import { ConfigError, describeValue } from "./errors.js";
import { type ResolvedScalingPolicy, type ScalingPolicy, resolveScalingPolicy } from "./scaling/policy.js";

/**
 * Sampling under pressure: while a shard's ring is at least `threshold` full, admit one event in
 * `rate` and reject the others with status `"sampled"`. Below the threshold every event is admitted.
 */
export interface SampleBackpressure {
  readonly mode: "sample";
  /** Admit 1 in `rate` events under pressure. An integer ≥ 1. */
  readonly rate: number;
  /** Fill ratio of the ring, in (0, 1], from which sampling starts. Default 0.75. */
  readonly threshold?: number;
}

/**
 * What happens when an event arrives for a shard whose ring is full.
 * - `"drop-oldest"` (default): evict the oldest pending event (counted as dropped, reason `evicted`)
 *   and accept the new one.
 * - `"drop-newest"`: reject the new event with status `"full"`; batch ingest carries on.
 * - `"fail-producer"`: reject with status `"full"`; batch ingest stops at the first rejected event, full
 *   or refused for another reason (`"tooLarge"`, `"invalidText"`, `"unrouted"`), and returns the length
 *   of the accepted prefix, so the producer can resume from there.
 * - `"block"`: for producers that wait for room with `ingestOrWait`, `ingestManyOrWait` and their raw
 *   variants (the way a Node stream's `write()` and `'drain'` work). Its synchronous calls refuse like
 *   `"fail-producer"`, never dropping. (The waiting calls wait in every mode and never evict, also
 *   under `"drop-oldest"`; `"block"` is the mode where nothing is ever dropped or sampled.)
 * - `{ mode: "sample", rate, threshold }`: see {@link SampleBackpressure}; a full ring then rejects
 *   with `"full"` as in drop-newest.
 */
export type BackpressureOption =
  | "drop-oldest"
  | "drop-newest"
  | "fail-producer"
  | "block"
  | SampleBackpressure;

/** Batching per shard. */
export interface BatchOptions {
  /** Fewest events that trigger a batch before `maxDelayMs` has passed. Default 1,000. */
  readonly minSize?: number;
  /** Most events in one batch. Default 10,000; at most 1,000,000. */
  readonly maxSize?: number;
  /**
   * Longest time an event waits for its batch to fill, in ms. Default 10. `0` sends whatever is queued
   * as soon as the shard's pump runs (lowest latency, smallest batches), `1` lets a burst gather first.
   */
  readonly maxDelayMs?: number;
  /**
   * Raise the size trigger from `minSize` towards `maxSize` as the shard's event rate grows (about
   * 5 ms worth of events), so fast shards send fewer, larger batches. Default true.
   */
  readonly adaptive?: boolean;
  /** Time constant of the event-rate estimate used by adaptive sizing, in ms. Default 100. */
  readonly velocityWindowMs?: number;
}

/** Configuration of an event bus; every field is optional. */
export interface BusOptions {
  /** Where batches go. Default: a new `MemoryAdapter` (the embedded default). */
  readonly adapter?: Adapter;
  /** Number of shards: the unit of ordering and of backend write concurrency. Default 4. */
  readonly shards?: number;
  /** Capacity of each shard's ring of pending events, a power of two in [2, 2^26]. Default 65,536. */
  readonly ringCapacity?: number;
  /**
   * Bound of each shard's ring in size, an integer in [1,024, 2^31]: the UTF-8 bytes of its queued
   * events when the adapter takes bytes (`capabilities.payload: "bytes"`: the events wait in byte slabs
   * outside the JS heap, allocated in chunks of an eighth of it, at most 4 MiB, and reused), their
   * UTF-16 code units when it takes text (the strings themselves wait). A ring is full when it reaches
   * either bound (`ringCapacity` events or `ringBytes`) and backpressure then applies as for a full
   * ring; an event larger than `ringBytes` is refused at ingest (`"tooLarge"`). Default 32 MiB.
   */
  readonly ringBytes?: number;
  /** Behaviour when a ring is full. Default `"drop-oldest"`. */
  readonly backpressure?: BackpressureOption;
  /** Batching per shard. */
  readonly batch?: BatchOptions;
  /** Bound on each adapter call (`init`, one `onBatch` attempt, `flush`, `shutdown`), in ms. Default 10,000. */
  readonly adapterTimeoutMs?: number;
  /** Retries of a batch after a retryable adapter error or a timeout. Default 3 (4 attempts in all). */
  readonly retries?: number;
  /** First retry delay in ms; doubles per attempt up to `retryMaxDelayMs`, with ±25% jitter. Default 100. */
  readonly retryBaseDelayMs?: number;
  /** Cap of the retry delay in ms. Default 3,200. */
  readonly retryMaxDelayMs?: number;
  /**
   * A file that keeps the producer nonce and the per-shard sequence state, so that a restarted process
   * continues the same message-id space without ever reusing an id. The parent directory must exist.
   * Default: none (a random producer nonce per bus).
   */
  readonly producerStatePath?: string;
  /** Logger (pino-compatible). Default: silent. */
  readonly logger?: Logger;
  /**
   * Dynamic scaling: shards are added under sustained pressure and drained when idle (see
   * {@link ScalingPolicy}; `true` takes every default). Default: off, a fixed set of `shards`.
   */
  readonly scaling?: ScalingPolicy | boolean;
}

/** Backpressure after validation, as a small tagged union. */
export type ResolvedBackpressure =
  | { readonly mode: "drop-oldest" | "drop-newest" | "fail-producer" | "block" }
  | { readonly mode: "sample"; readonly rate: number; readonly threshold: number };

/** Configuration after defaults and validation. */
export interface ResolvedConfig {
  readonly shards: number;
  readonly ringCapacity: number;
  readonly ringBytes: number;
  readonly backpressure: ResolvedBackpressure;
  readonly batch: Required<BatchOptions>;
  readonly adapterTimeoutMs: number;
  readonly retries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly producerStatePath: string | undefined;
  readonly logger: Logger;
  /** The scaling policy, or undefined for a fixed set of shards. */
  readonly scaling: ResolvedScalingPolicy | undefined;
}

/** Default values of every {@link BusOptions} field that has one. */
export const DEFAULTS = Object.freeze({
  shards: 4,
  ringCapacity: 65_536,
  ringBytes: 32 * 1024 * 1024,
  backpressure: "drop-oldest" as const,
  batch: Object.freeze({
    minSize: 1_000,
    maxSize: 10_000,
    maxDelayMs: 10,
    adaptive: true,
    velocityWindowMs: 100,
  }),
  adapterTimeoutMs: 10_000,
  retries: 3,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 3_200,
  sampleThreshold: 0.75,
});

/** Largest batch the bus will assemble. */
export const MAX_BATCH_SIZE = 1_000_000;
const MAX_RING_CAPACITY = 2 ** 26;
const MIN_RING_BYTES = 1024;
const MAX_RING_BYTES = 2 ** 31;
const MAX_SHARDS = 65_535;
const MAX_RETRIES = 100;
const MAX_DURATION_MS = 2 ** 31 - 1; // setTimeout's limit

function integerIn(path: string, value: number, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(path, `must be an integer in [${min}, ${max}], got ${describeValue(value)}`);
  }
  return value;
}

function durationMs(path: string, value: number, min: "positive" | "zero" = "positive"): number {
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    (min === "zero" ? value < 0 : value <= 0) ||
    value > MAX_DURATION_MS
  ) {
    throw new ConfigError(
      path,
      `must be a finite duration in ms, ${min === "zero" ? "≥" : ">"} 0 and ≤ ${MAX_DURATION_MS}, got ${describeValue(value)}`,
    );
  }
  return value;
}

function resolveBackpressure(option: BackpressureOption): ResolvedBackpressure {
  if (typeof option === "string") {
    if (
      option === "drop-oldest" ||
      option === "drop-newest" ||
      option === "fail-producer" ||
      option === "block"
    ) {
      return { mode: option };
    }
    throw new ConfigError(
      "backpressure",
      `must be one of drop-oldest, drop-newest, fail-producer, block, or a sample object`,
    );
  }
  if (typeof option !== "object" || option === null || option.mode !== "sample") {
    throw new ConfigError("backpressure", "must be a mode name or { mode: 'sample', rate }");
  }
  const rate = integerIn("backpressure.rate", option.rate, 1, 2 ** 31 - 1);
  const threshold = option.threshold ?? DEFAULTS.sampleThreshold;
  if (typeof threshold !== "number" || !(threshold > 0 && threshold <= 1)) {
    throw new ConfigError(
      "backpressure.threshold",
      `must be a fill ratio in (0, 1], got ${describeValue(threshold)}`,
    );
  }
  return { mode: "sample", rate, threshold };
}

/** Applies defaults and validates every field, throwing a {@link ConfigError} on the first problem. */
export function resolveConfig(options: BusOptions): ResolvedConfig {
  if (typeof options !== "object" || options === null) throw new ConfigError("options", "must be an object");
  const shards = integerIn("shards", options.shards ?? DEFAULTS.shards, 1, MAX_SHARDS);
  const ringCapacity = integerIn(
    "ringCapacity",
    options.ringCapacity ?? DEFAULTS.ringCapacity,
    2,
    MAX_RING_CAPACITY,
  );
  if ((ringCapacity & (ringCapacity - 1)) !== 0) {
    throw new ConfigError("ringCapacity", `must be a power of two, got ${ringCapacity}`);
  }
  const ringBytes = integerIn(
    "ringBytes",
    options.ringBytes ?? DEFAULTS.ringBytes,
    MIN_RING_BYTES,
    MAX_RING_BYTES,
  );
  const given = options.batch ?? {};
  if (typeof given !== "object" || given === null) throw new ConfigError("batch", "must be an object");
  const maxSize = integerIn("batch.maxSize", given.maxSize ?? DEFAULTS.batch.maxSize, 1, MAX_BATCH_SIZE);
  // Batches leave at half the ring at most, so a small ring (or a small maxSize) lowers the default
  // size trigger instead of refusing it; an explicit minSize is checked as given.
  const defaultMinSize = Math.min(DEFAULTS.batch.minSize, maxSize, Math.max(1, ringCapacity >> 1));
  const batch = {
    minSize: integerIn("batch.minSize", given.minSize ?? defaultMinSize, 1, MAX_BATCH_SIZE),
    maxSize,
    maxDelayMs: durationMs("batch.maxDelayMs", given.maxDelayMs ?? DEFAULTS.batch.maxDelayMs, "zero"),
    adaptive: given.adaptive ?? DEFAULTS.batch.adaptive,
    velocityWindowMs: durationMs(
      "batch.velocityWindowMs",
      given.velocityWindowMs ?? DEFAULTS.batch.velocityWindowMs,
    ),
  };
  if (typeof batch.adaptive !== "boolean") throw new ConfigError("batch.adaptive", "must be a boolean");
  if (batch.minSize > batch.maxSize) {
    throw new ConfigError(
      "batch.minSize",
      `(${batch.minSize}) must not exceed batch.maxSize (${batch.maxSize})`,
    );
  }
  if (batch.minSize > ringCapacity) {
    throw new ConfigError(
      "batch.minSize",
      `(${batch.minSize}) must not exceed ringCapacity (${ringCapacity}): a batch could never fill`,
    );
  }
  const retryBaseDelayMs = durationMs(
    "retryBaseDelayMs",
    options.retryBaseDelayMs ?? DEFAULTS.retryBaseDelayMs,
  );
  const retryMaxDelayMs = durationMs("retryMaxDelayMs", options.retryMaxDelayMs ?? DEFAULTS.retryMaxDelayMs);
  if (retryMaxDelayMs < retryBaseDelayMs) {
    throw new ConfigError(
      "retryMaxDelayMs",
      `(${retryMaxDelayMs}) must be ≥ retryBaseDelayMs (${retryBaseDelayMs})`,
    );
  }
  const path = options.producerStatePath;
  if (path !== undefined && (typeof path !== "string" || path.length === 0)) {
    throw new ConfigError("producerStatePath", "must be a non-empty file path");
  }
  const logger = options.logger ?? silentLogger;
  for (const level of ["debug", "info", "warn", "error"] as const) {
    if (typeof logger[level] !== "function") throw new ConfigError(`logger.${level}`, "must be a function");
  }
  return {
    shards,
    ringCapacity,
    ringBytes,
    backpressure: resolveBackpressure(options.backpressure ?? DEFAULTS.backpressure),
    batch,
    adapterTimeoutMs: durationMs("adapterTimeoutMs", options.adapterTimeoutMs ?? DEFAULTS.adapterTimeoutMs),
    retries: integerIn("retries", options.retries ?? DEFAULTS.retries, 0, MAX_RETRIES),
    retryBaseDelayMs,
    retryMaxDelayMs,
    producerStatePath: path,
    logger,
    scaling: resolveScaling(options.scaling, shards),
  };
}

function resolveScaling(
  option: ScalingPolicy | boolean | undefined,
  shards: number,
): ResolvedScalingPolicy | undefined {
  if (option === undefined || option === false) return undefined;
  return resolveScalingPolicy(option === true ? {} : option, shards);
}
