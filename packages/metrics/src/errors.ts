/**
 * Thrown by `collectBusMetrics` when a metric of the same name is already on the registry (another bus
 * collected with the same prefix, or an unrelated metric). Nothing was registered: give each bus its own
 * prefix or registry.
 */
export class MetricNameConflictError extends Error {
  /** Always `"METRIC_NAME_CONFLICT"`. */
  readonly code = "METRIC_NAME_CONFLICT";
  /** The name already taken. */
  readonly metricName: string;

  constructor(metricName: string) {
    super(
      `a metric named ${metricName} is already registered: collect each bus with its own prefix or registry`,
    );
    this.name = "MetricNameConflictError";
    this.metricName = metricName;
  }
}
