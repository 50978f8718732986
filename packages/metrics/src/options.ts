import { DEFAULT_BUCKETS, type HistogramKey } from "./catalog.js";
import { DEFAULT_MAX_SHARD_LABELS } from "./shard-series.js";

/** Bucket upper bounds per histogram, replacing {@link DEFAULT_BUCKETS} for the ones given. */
export type HistogramBuckets = Partial<Readonly<Record<HistogramKey, readonly number[]>>>;

/** Options both routes share. */
export interface CommonMetricsOptions {
  /** Prepended to every metric name. Default `"netmesh_"`. */
  readonly prefix?: string;
  /**
   * Most shards with a `shard` label of their own; the rest share one `shard="__overflow__"` series.
   * A non-negative integer. Default 64.
   */
  readonly maxShardLabels?: number;
  /** Histogram bucket upper bounds (ascending, finite). Default {@link DEFAULT_BUCKETS}. */
  readonly buckets?: HistogramBuckets;
  /**
   * Observe `batch_bytes`. `"free"` (the default) observes it when it costs nothing: for an adapter
   * that takes bytes (`capabilities.payload: "bytes"`: Redis, JetStream, Kinesis), whose batches are one
   * run of UTF-8 bytes of known length. For one that takes text (memory, noop) the histogram then stays
   * empty, since filling it means counting the UTF-8 bytes of every event; `true` observes it anyway at
   * that cost, `false` never.
   */
  readonly batchBytes?: boolean | "free";
}

/** The options after defaults and validation. */
export interface ResolvedMetricsOptions {
  /** See {@link CommonMetricsOptions.prefix}. */
  readonly prefix: string;
  /** See {@link CommonMetricsOptions.maxShardLabels}. */
  readonly maxShardLabels: number;
  /** Every histogram's bounds, defaults filled in. */
  readonly buckets: Readonly<Record<HistogramKey, readonly number[]>>;
  /** See {@link CommonMetricsOptions.batchBytes}. */
  readonly batchBytes: boolean | "free";
}

/** Default prefix of every metric name. */
export const DEFAULT_PREFIX = "netmesh_";

/**
 * Applies defaults and checks the options. `namePattern` is what the route allows a prefix to look like
 * (Prometheus and OpenTelemetry names differ). Throws `TypeError` / `RangeError` on a bad option.
 */
export function resolveOptions(options: CommonMetricsOptions, namePattern: RegExp): ResolvedMetricsOptions {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== "string" || (prefix !== "" && !namePattern.test(prefix))) {
    throw new TypeError(
      `metrics prefix must match ${namePattern} (or be empty), got ${JSON.stringify(prefix)}`,
    );
  }
  const maxShardLabels = options.maxShardLabels ?? DEFAULT_MAX_SHARD_LABELS;
  if (!Number.isSafeInteger(maxShardLabels) || maxShardLabels < 0) {
    throw new RangeError(`maxShardLabels must be a non-negative integer, got ${String(maxShardLabels)}`);
  }
  const buckets = { ...DEFAULT_BUCKETS };
  for (const [key, bounds] of Object.entries(options.buckets ?? {})) {
    if (!Object.hasOwn(DEFAULT_BUCKETS, key)) throw new TypeError(`unknown histogram in buckets: ${key}`);
    if (bounds === undefined) continue;
    const ascending = bounds.every(
      (bound, i) => Number.isFinite(bound) && (i === 0 || bound > bounds[i - 1]!),
    );
    if (!ascending || bounds.length === 0) {
      throw new RangeError(
        `buckets.${key} must be finite numbers in ascending order, got [${bounds.join(", ")}]`,
      );
    }
    buckets[key as HistogramKey] = Object.freeze([...bounds]);
  }
  const batchBytes = options.batchBytes ?? "free";
  if (typeof batchBytes !== "boolean" && batchBytes !== "free") {
    throw new TypeError('batchBytes must be a boolean or "free"');
  }
  return { prefix, maxShardLabels, buckets, batchBytes };
}

/** Whether a collector of `bus` observes `batch_bytes` (see {@link CommonMetricsOptions.batchBytes}). */
export function observesBatchBytes(
  resolved: ResolvedMetricsOptions,
  bus: { readonly capabilities?: { readonly payload?: "bytes" | "text" } },
): boolean {
  return resolved.batchBytes === "free" ? bus.capabilities?.payload === "bytes" : resolved.batchBytes;
}
