import type {
  BatchObservableResult,
  Histogram,
  Meter,
  MetricOptions,
  Observable,
  ValueType,
} from "@opentelemetry/api";
import { type HistogramKey, METRIC_CATALOG, METRIC_KEYS, type MetricKey } from "./catalog.js";
import { DiagnosticsTally } from "./diagnostics-tally.js";
import { type CommonMetricsOptions, observesBatchBytes, resolveOptions } from "./options.js";
import { type LabelledValue, type MeteredBus, readBus } from "./readings.js";

/** Options of {@link collectBusMetricsOtel}. */
export interface BusMetricsOtelOptions extends CommonMetricsOptions {
  /** The meter to create the instruments on, e.g. `metrics.getMeter("@netmesh/metrics")`. */
  readonly meter: Meter;
}

/** What {@link collectBusMetricsOtel} returns. */
export interface BusMetricsOtel {
  /** The instrument names created, prefix included. */
  readonly names: readonly string[];
  /**
   * Stops listening to the diagnostics channels and removes the observable callback: the instruments
   * report nothing more (the OpenTelemetry API cannot delete an instrument). Idempotent.
   */
  stop(): void;
}

/** What an OpenTelemetry instrument name may look like (a prefix is the start of one). */
const OTEL_NAME = /^[A-Za-z][A-Za-z0-9_.\-/]*$/;

// The API's `ValueType` enum values, written as literals so that @opentelemetry/api is needed for its
// types only (it stays an optional peer: this file imports nothing from it at run time).
const INT = 0 as ValueType.INT;
const DOUBLE = 1 as ValueType.DOUBLE;

type ObservableKey = Exclude<MetricKey, HistogramKey>;

/**
 * Creates the instruments of {@link collectBusMetrics} on an OpenTelemetry meter, for applications that
 * export with the OpenTelemetry SDK instead of prom-client. Counters and gauges are observable
 * instruments whose one batch callback reads `bus.stats()` once per collection; the histograms are
 * recorded from the diagnostics channels. Names are the Prometheus names without `_total` (which a
 * Prometheus exporter adds back to counters), units are UCUM (`s`, `By`, `1`, `{event}`), attributes are
 * the Prometheus labels, with the same bounds.
 *
 * @throws {TypeError | RangeError} on a bad option.
 * @example
 * ```ts
 * import { metrics } from "@opentelemetry/api";
 * const handle = collectBusMetricsOtel(bus, { meter: metrics.getMeter("@netmesh/metrics") });
 * ```
 */
export function collectBusMetricsOtel(bus: MeteredBus, options: BusMetricsOtelOptions): BusMetricsOtel {
  const resolved = resolveOptions(options, OTEL_NAME);
  const observeBytes = observesBatchBytes(resolved, bus);
  const { prefix, maxShardLabels, buckets } = resolved;
  const { meter } = options;
  const nameOf = (key: MetricKey) => prefix + METRIC_CATALOG[key].otelName;
  const optionsOf = (key: MetricKey, valueType: ValueType): MetricOptions => ({
    description: METRIC_CATALOG[key].help,
    unit: METRIC_CATALOG[key].unit,
    valueType,
  });
  const observableCounter = (key: ObservableKey) =>
    meter.createObservableCounter(nameOf(key), optionsOf(key, INT));
  const observableGauge = (key: ObservableKey, valueType: ValueType) =>
    meter.createObservableGauge(nameOf(key), optionsOf(key, valueType));
  const histogram = (key: HistogramKey, valueType: ValueType): Histogram =>
    meter.createHistogram(nameOf(key), {
      ...optionsOf(key, valueType),
      advice: { explicitBucketBoundaries: [...buckets[key]] },
    });

  const observables: Record<ObservableKey, Observable> = {
    eventsIngested: observableCounter("eventsIngested"),
    eventsDispatched: observableCounter("eventsDispatched"),
    eventsDropped: observableCounter("eventsDropped"),
    eventsUncertain: observableCounter("eventsUncertain"),
    eventsRejected: observableCounter("eventsRejected"),
    batches: observableCounter("batches"),
    retries: observableCounter("retries"),
    ringFill: observableGauge("ringFill", DOUBLE),
    eventsPending: observableGauge("eventsPending", INT),
    shards: observableGauge("shards", INT),
  };
  const batchSize = histogram("batchSize", INT);
  const batchBytes = histogram("batchBytes", INT);
  const adapterDuration = histogram("adapterDuration", DOUBLE);
  const queueDelay = histogram("queueDelay", DOUBLE);

  const tally = new DiagnosticsTally(bus.producer, (message) => {
    batchSize.record(message.events + message.refused);
    if (observeBytes) batchBytes.record(message.bytes);
    adapterDuration.record(message.adapterMs / 1000, { adapter: message.adapter });
    queueDelay.record(message.queueDelayMs / 1000);
  });

  const callback = (result: BatchObservableResult): void => {
    const r = readBus(bus.stats(), tally, maxShardLabels);
    const labelled = (key: ObservableKey, values: readonly LabelledValue[]) => {
      const attribute = METRIC_CATALOG[key].labels[0]!;
      for (const { label, value } of values) result.observe(observables[key], value, { [attribute]: label });
    };
    result.observe(observables.eventsIngested, r.ingested);
    result.observe(observables.eventsDispatched, r.dispatched);
    labelled("eventsDropped", r.dropped);
    labelled("eventsUncertain", r.uncertain);
    labelled("eventsRejected", r.rejected);
    labelled("batches", r.batches);
    labelled("retries", r.retries);
    for (const series of r.shards) {
      result.observe(observables.ringFill, series.fill, { shard: series.shard });
      result.observe(observables.eventsPending, series.pending, { shard: series.shard });
    }
    labelled("shards", r.states);
  };
  const observed = Object.values(observables);
  // One batch callback: one stats() call per collection for all ten observables, and consistent values.
  meter.addBatchObservableCallback(callback, observed);

  let stopped = false;
  return {
    names: METRIC_KEYS.map(nameOf),
    stop() {
      if (stopped) return;
      stopped = true;
      tally.stop();
      meter.removeBatchObservableCallback(callback, observed);
    },
  };
}
