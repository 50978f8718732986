/**
 * `@netmesh/metrics/otel`: the OpenTelemetry route alone. It loads neither prom-client nor
 * `@opentelemetry/api` at run time (the meter is passed in), so either peer may be absent.
 * @module @netmesh/metrics/otel
 */

export type { HistogramKey, MetricDefinition, MetricKey, MetricKind } from "./catalog.js";
export { DEFAULT_BUCKETS, METRIC_CATALOG, METRIC_KEYS } from "./catalog.js";
export type { RetryReason } from "./diagnostics-tally.js";
export { isBatchDrop, RETRY_REASONS } from "./diagnostics-tally.js";
export { MetricNameConflictError } from "./errors.js";
export type { CommonMetricsOptions, HistogramBuckets } from "./options.js";
export { DEFAULT_PREFIX } from "./options.js";
export type { BusMetricsOtel, BusMetricsOtelOptions } from "./otel-collector.js";
export { collectBusMetricsOtel } from "./otel-collector.js";
export type { MeteredBus } from "./readings.js";
export { DEFAULT_MAX_SHARD_LABELS, OVERFLOW_SHARD_LABEL } from "./shard-series.js";
