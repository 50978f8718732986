import { MetricNameConflictError } from "./errors.js";
import {
  COUNTER_FAMILIES,
  LAG_HELP,
  LAG_METRIC,
  type TextFlavour,
  renderReplicationText,
} from "./prometheus-text.js";
import type { ReplicationMetricsRegistry } from "./registry.js";

/**
 * The part of a prom-client `Registry` (v15) this integration uses, typed structurally so that
 * prom-client stays an optional peer dependency: a `new Registry()` or the global `register` fits.
 */
export interface PromClientRegistry {
  /** prom-client's own signature is generic over its metric classes; any of them fits `never`. */
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
  getSingleMetric(name: string): unknown;
  /** The registry's content type: Prometheus text 0.0.4 or OpenMetrics 1.0.0. */
  readonly contentType: string;
}

/** What {@link registerReplicationMetrics} returns. */
export interface ReplicationMetricsCollector {
  /** Takes the metrics off the prom-client registry again (idempotent). */
  unregister(): void;
}

/** One sample of prom-client's JSON view (`getMetricsAsJSON`). */
interface JsonSample {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

function flavourOf(contentType: string): TextFlavour {
  return contentType.startsWith("application/openmetrics-text") ? "openmetrics" : "prometheus";
}

/**
 * Registers `registry` on a prom-client registry, so an existing `/metrics` endpoint
 * (`await promRegistry.metrics()`) carries the replication metrics, byte for byte as
 * `registry.renderPrometheus()` prints them (counter families named without `_total` on an
 * OpenMetrics registry). Nothing happens per event: the text is rendered when a scrape asks for it.
 *
 * prom-client lays out each metric it holds as HELP, TYPE and value lines it formats itself; that
 * formatting would round counters past 2^53, not escape `\r` and break the families apart with blank
 * lines. So the whole block is registered as one metric (named after the lag gauge) whose TYPE line
 * carries the rest of the rendered text, the only place prom-client copies verbatim.
 *
 * The registry's default labels are not added to these lines, and `resetMetrics()` leaves them alone
 * (they are the backends' figures, not the process's). `getMetricsAsJSON()` lists every line as a
 * sample of one family, as numbers.
 *
 * @throws {MetricNameConflictError} when one of the eight metric names is already registered there.
 */
export function registerReplicationMetrics(
  registry: ReplicationMetricsRegistry,
  promRegistry: PromClientRegistry,
): ReplicationMetricsCollector {
  for (const name of [LAG_METRIC, ...COUNTER_FAMILIES.map((family) => family.name)]) {
    if (promRegistry.getSingleMetric(name) !== undefined) throw new MetricNameConflictError(name);
  }
  const metric = {
    name: LAG_METRIC,
    help: LAG_HELP,
    type: "gauge",
    aggregator: "sum",
    /** prom-client's text path: asked once per scrape. */
    async getForPromString() {
      const text = renderReplicationText(registry.snapshot().channels, flavourOf(promRegistry.contentType));
      // Past the HELP and TYPE lines prom-client writes itself, without the final newline it adds.
      const afterHeader = text.indexOf("\n", text.indexOf("\n") + 1) + 1;
      return { name: LAG_METRIC, help: LAG_HELP, type: `gauge\n${text.slice(afterHeader, -1)}`, values: [] };
    },
    /** prom-client's JSON path (`getMetricsAsJSON`, cluster aggregation). */
    async get() {
      const rows = registry.snapshot().channels;
      const values: JsonSample[] = [];
      for (const row of rows) {
        const channel = row.channel;
        if (row.leaderLagSeconds !== undefined) {
          values.push({
            metricName: LAG_METRIC,
            labels: { channel, role: "leader" },
            value: row.leaderLagSeconds,
          });
        }
        if (row.replicaLagSeconds !== undefined) {
          values.push({
            metricName: LAG_METRIC,
            labels: { channel, role: "replica" },
            value: row.replicaLagSeconds,
          });
        }
      }
      for (const family of COUNTER_FAMILIES) {
        for (const row of rows) {
          values.push({
            metricName: family.name,
            labels: { channel: row.channel },
            value: Number(row[family.field]),
          });
        }
      }
      return { name: LAG_METRIC, help: LAG_HELP, type: "gauge", aggregator: "sum", values };
    },
    reset() {},
  };
  (promRegistry.registerMetric as (m: unknown) => void).call(promRegistry, metric);
  return {
    unregister() {
      if (promRegistry.getSingleMetric(LAG_METRIC) === metric) promRegistry.removeSingleMetric(LAG_METRIC);
    },
  };
}
