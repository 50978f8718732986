/**
 * `@netmesh/metrics`: Prometheus (prom-client) and OpenTelemetry metrics of a `@netmesh/core` bus —
 * counters and gauges read from `bus.stats()` at scrape time, retries, dropped batches and histograms
 * from the bus's diagnostics channels, with bounded label sets. For OpenTelemetry without prom-client
 * installed, import `@netmesh/metrics/otel`.
 * @module @netmesh/metrics
 */

export * from "./otel.js";
export type { BusMetrics, BusMetricsOptions, PromRegistry } from "./prom-client-collector.js";
export { collectBusMetrics } from "./prom-client-collector.js";
