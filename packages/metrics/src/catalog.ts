/**
 * The metrics of a bus, defined once for both routes (prom-client and OpenTelemetry), so the two can
 * never disagree on a name, a unit or a label.
 */

/** How a metric is exposed: a monotonic counter, a gauge read at scrape time, or a histogram. */
export type MetricKind = "counter" | "gauge" | "histogram";

/** Keys of {@link METRIC_CATALOG}, used in code instead of the (prefixed) names. */
export type MetricKey =
  | "eventsIngested"
  | "eventsDispatched"
  | "eventsDropped"
  | "eventsUncertain"
  | "eventsRejected"
  | "batches"
  | "retries"
  | "ringFill"
  | "eventsPending"
  | "shards"
  | "batchSize"
  | "batchBytes"
  | "adapterDuration"
  | "queueDelay";

/** One metric: its Prometheus name, its OpenTelemetry name, unit, help text and label names. */
export interface MetricDefinition {
  /** Counter, gauge or histogram. */
  readonly kind: MetricKind;
  /** The Prometheus name after the prefix, e.g. `"events_ingested_total"`. */
  readonly name: string;
  /**
   * The OpenTelemetry instrument name after the prefix: the Prometheus name without `_total`, which a
   * spec-compliant Prometheus exporter adds back to monotonic counters, so both routes end up with the
   * same series names.
   */
  readonly otelName: string;
  /** UCUM unit, as OpenTelemetry wants it (`"s"`, `"By"`, `"1"`, `"{event}"`). */
  readonly unit: string;
  /** The HELP text (OpenTelemetry: the description). */
  readonly help: string;
  /** The label (attribute) names; every one has a bounded set of values. */
  readonly labels: readonly string[];
}

function counter(name: string, unit: string, help: string, labels: readonly string[] = []): MetricDefinition {
  return { kind: "counter", name, otelName: name.replace(/_total$/, ""), unit, help, labels };
}

function gauge(name: string, unit: string, help: string, labels: readonly string[]): MetricDefinition {
  return { kind: "gauge", name, otelName: name, unit, help, labels };
}

function histogram(
  name: string,
  unit: string,
  help: string,
  labels: readonly string[] = [],
): MetricDefinition {
  return { kind: "histogram", name, otelName: name, unit, help, labels };
}

/**
 * Every metric a collector registers, by key. Names are given without the prefix (default
 * `"netmesh_"`). The counters read from `stats()` equal it at every scrape; `batches{outcome="dropped"}`,
 * `retries` and the histograms count what the diagnostics channels published while the collector was
 * attached.
 */
export const METRIC_CATALOG: Readonly<Record<MetricKey, MetricDefinition>> = Object.freeze({
  eventsIngested: counter("events_ingested_total", "{event}", "Events the bus accepted (stats().ingested)."),
  eventsDispatched: counter(
    "events_dispatched_total",
    "{event}",
    "Accepted events the adapter stored (stats().dispatched).",
  ),
  eventsDropped: counter(
    "events_dropped_total",
    "{event}",
    "Accepted events dropped, by reason (stats().droppedBy).",
    ["reason"],
  ),
  eventsUncertain: counter(
    "events_uncertain_total",
    "{event}",
    "Dropped events that may have been stored all the same, by reason (stats().uncertainBy).",
    ["reason"],
  ),
  eventsRejected: counter(
    "events_rejected_total",
    "{event}",
    "Events refused at ingest, by reason (stats().rejectedBy).",
    ["reason"],
  ),
  batches: counter(
    "batches_total",
    "{batch}",
    'Batches by outcome: "dispatched" (stored, stats().batches) or "dropped" (given up on whole, from the diagnostics).',
    ["outcome"],
  ),
  retries: counter(
    "retries_total",
    "{retry}",
    "Failed batch attempts that were retried, by failure classification (from the diagnostics).",
    ["reason"],
  ),
  ringFill: gauge(
    "ring_fill_ratio",
    "1",
    "Fill of the shard's ring, queued / capacity (the overflow series: its shards' queued over their capacity).",
    ["shard"],
  ),
  eventsPending: gauge(
    "events_pending",
    "{event}",
    "Accepted events neither dispatched nor dropped yet (queued or in flight), per shard.",
    ["shard"],
  ),
  shards: gauge("shards", "{shard}", "Shards by lifecycle state (stopped: removed so far).", ["state"]),
  batchSize: histogram(
    "batch_size_events",
    "{event}",
    "Events per dispatched batch, the ones the adapter refused alone included.",
  ),
  batchBytes: histogram("batch_bytes", "By", "UTF-8 bytes of the JSON texts of each dispatched batch."),
  adapterDuration: histogram(
    "adapter_duration_seconds",
    "s",
    "Time inside the adapter's onBatch for the attempt that stored the batch.",
    ["adapter"],
  ),
  queueDelay: histogram(
    "queue_delay_seconds",
    "s",
    "Mean time a dispatched batch's events waited in the ring before the batch left.",
  ),
});

/** The histogram keys, for bucket options. */
export type HistogramKey = "batchSize" | "batchBytes" | "adapterDuration" | "queueDelay";

/**
 * Default bucket upper bounds. Batch sizes span 1 to the bus's 10,000 default maximum (and beyond, up to
 * the 1,000,000 limit); bytes go by powers of four from 1 KiB to 64 MiB; times from 0.5 ms to 10 s, the
 * adapter timeout's default.
 */
export const DEFAULT_BUCKETS: Readonly<Record<HistogramKey, readonly number[]>> = Object.freeze({
  batchSize: Object.freeze([
    1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 100_000, 1_000_000,
  ]),
  batchBytes: Object.freeze([1, 4, 16, 64, 256, 1_024, 4_096, 16_384, 65_536].map((kib) => kib * 1024)),
  adapterDuration: Object.freeze([
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
  ]),
  queueDelay: Object.freeze([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
});

/** Every key of {@link METRIC_CATALOG}, in exposition order. */
export const METRIC_KEYS: readonly MetricKey[] = Object.freeze(Object.keys(METRIC_CATALOG) as MetricKey[]);
