import type { BatchDispatchedMessage } from "@netmesh/core";
import {
  Counter,
  Gauge,
  Histogram,
  type OpenMetricsContentType,
  type PrometheusContentType,
  type Registry,
} from "prom-client";
import { METRIC_CATALOG, METRIC_KEYS, type MetricKey } from "./catalog.js";
import { DiagnosticsTally } from "./diagnostics-tally.js";
import { MetricNameConflictError } from "./errors.js";
import { type CommonMetricsOptions, observesBatchBytes, resolveOptions } from "./options.js";
import { type BusReadings, type LabelledValue, type MeteredBus, readBus } from "./readings.js";

/** A prom-client registry of either exposition format. */
export type PromRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** Options of {@link collectBusMetrics}. */
export interface BusMetricsOptions extends CommonMetricsOptions {
  /** The prom-client registry to register on (`new Registry()`, or prom-client's global `register`). */
  readonly registry: PromRegistry;
}

/** What {@link collectBusMetrics} returns. */
export interface BusMetrics {
  /** The names registered, prefix included, in exposition order. */
  readonly names: readonly string[];
  /** Stops listening to the diagnostics channels and takes every metric off the registry (idempotent). */
  stop(): void;
}

/** What a Prometheus metric name may look like (a prefix is the start of one). */
const PROMETHEUS_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

type PromMetric = Counter<string> | Gauge<string> | Histogram<string>;

/**
 * One bus snapshot per scrape: prom-client calls every metric's `collect()` in one synchronous pass, so
 * the first call reads `stats()` and the rest reuse it until the microtask queue runs. One `stats()` call
 * per scrape, and the exposed counters are mutually consistent (ingested = dispatched + dropped + pending).
 */
class ScrapeReadings {
  private cached: BusReadings | undefined;

  constructor(
    private readonly bus: MeteredBus,
    private readonly tally: DiagnosticsTally,
    private readonly maxShardLabels: number,
  ) {}

  get(): BusReadings {
    if (this.cached === undefined) {
      this.cached = readBus(this.bus.stats(), this.tally, this.maxShardLabels);
      queueMicrotask(() => {
        this.cached = undefined;
      });
    }
    return this.cached;
  }
}

/**
 * Registers the metrics of `bus` on a prom-client registry (see the README's table): counters and gauges
 * are read from `bus.stats()` when a scrape asks for them, so ingest pays nothing for them; retries, whole
 * batches dropped and the histograms come from the bus's diagnostics channels, through one process-wide
 * subscription per channel that every collector shares. Only messages of this bus (its `producer`) count.
 *
 * Label sets are bounded: reasons, outcomes and states are fixed sets, `adapter` has the bus's one
 * adapter, and `shard` has at most `maxShardLabels` values plus `"__overflow__"`.
 *
 * @throws {MetricNameConflictError} when one of the names is already registered (nothing is registered then).
 * @throws {TypeError | RangeError} on a bad option.
 * @example
 * ```ts
 * const registry = new Registry();
 * const metrics = collectBusMetrics(bus, { registry });
 * app.get("/metrics", async () => registry.metrics());
 * // later
 * metrics.stop();
 * ```
 */
export function collectBusMetrics(bus: MeteredBus, options: BusMetricsOptions): BusMetrics {
  const resolved = resolveOptions(options, PROMETHEUS_NAME);
  const observeBytes = observesBatchBytes(resolved, bus);
  const { prefix, maxShardLabels, buckets } = resolved;
  const { registry } = options;
  const nameOf = (key: MetricKey) => prefix + METRIC_CATALOG[key].name;
  for (const key of METRIC_KEYS) {
    if (registry.getSingleMetric(nameOf(key)) !== undefined) throw new MetricNameConflictError(nameOf(key));
  }

  // Assigned right below, before any collect() can run.
  let readings!: ScrapeReadings;
  const base = (key: MetricKey) => ({
    name: nameOf(key),
    help: METRIC_CATALOG[key].help,
    registers: [],
  });
  const counter = (key: MetricKey, read: (r: BusReadings) => number) =>
    new Counter({
      ...base(key),
      collect() {
        this.reset();
        this.inc(read(readings.get()));
      },
    });
  const labelledCounter = (key: MetricKey, read: (r: BusReadings) => readonly LabelledValue[]) => {
    const labelName = METRIC_CATALOG[key].labels[0]!;
    return new Counter({
      ...base(key),
      labelNames: [labelName],
      collect() {
        // Reset then set: the counter mirrors the bus's own counter, it does not accumulate.
        this.reset();
        for (const { label, value } of read(readings.get())) this.inc({ [labelName]: label }, value);
      },
    });
  };
  const labelledGauge = (key: MetricKey, read: (r: BusReadings) => readonly LabelledValue[]) => {
    const labelName = METRIC_CATALOG[key].labels[0]!;
    return new Gauge({
      ...base(key),
      labelNames: [labelName],
      collect() {
        // Reset first: a shard removed since the last scrape must lose its series.
        this.reset();
        for (const { label, value } of read(readings.get())) this.set({ [labelName]: label }, value);
      },
    });
  };
  const histogram = (key: "batchSize" | "batchBytes" | "adapterDuration" | "queueDelay") =>
    new Histogram({ ...base(key), labelNames: METRIC_CATALOG[key].labels, buckets: [...buckets[key]] });

  const batchSize = histogram("batchSize");
  const batchBytes = histogram("batchBytes");
  const adapterDuration = histogram("adapterDuration");
  const queueDelay = histogram("queueDelay");
  // The adapter's series exists from the start, so a dashboard sees 0 rather than nothing.
  adapterDuration.zero({ adapter: bus.adapter.name });
  const onDispatched = (message: BatchDispatchedMessage) => {
    batchSize.observe(message.events + message.refused);
    if (observeBytes) batchBytes.observe(message.bytes);
    adapterDuration.observe({ adapter: message.adapter }, message.adapterMs / 1000);
    queueDelay.observe(message.queueDelayMs / 1000);
  };

  const metrics: Record<MetricKey, PromMetric> = {
    eventsIngested: counter("eventsIngested", (r) => r.ingested),
    eventsDispatched: counter("eventsDispatched", (r) => r.dispatched),
    eventsDropped: labelledCounter("eventsDropped", (r) => r.dropped),
    eventsUncertain: labelledCounter("eventsUncertain", (r) => r.uncertain),
    eventsRejected: labelledCounter("eventsRejected", (r) => r.rejected),
    batches: labelledCounter("batches", (r) => r.batches),
    retries: labelledCounter("retries", (r) => r.retries),
    ringFill: new Gauge({
      ...base("ringFill"),
      labelNames: ["shard"],
      collect() {
        this.reset();
        for (const series of readings.get().shards) this.set({ shard: series.shard }, series.fill);
      },
    }),
    eventsPending: new Gauge({
      ...base("eventsPending"),
      labelNames: ["shard"],
      collect() {
        this.reset();
        for (const series of readings.get().shards) this.set({ shard: series.shard }, series.pending);
      },
    }),
    shards: labelledGauge("shards", (r) => r.states),
    batchSize,
    batchBytes,
    adapterDuration,
    queueDelay,
  };

  const tally = new DiagnosticsTally(bus.producer, onDispatched);
  readings = new ScrapeReadings(bus, tally, maxShardLabels);
  const registered: [string, PromMetric][] = METRIC_KEYS.map((key) => [nameOf(key), metrics[key]]);
  for (const [, metric] of registered) registry.registerMetric(metric);

  let stopped = false;
  return {
    names: registered.map(([name]) => name),
    stop() {
      if (stopped) return;
      stopped = true;
      tally.stop();
      for (const [name, metric] of registered) {
        // Only ours: the name may have been cleared and reused by someone else meanwhile.
        if (registry.getSingleMetric(name) === metric) registry.removeSingleMetric(name);
      }
    },
  };
}
