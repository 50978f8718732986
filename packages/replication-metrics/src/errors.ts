/** Stable codes of the errors this package throws. */
export type ReplicationMetricsErrorCode =
  | "INVALID_OPTIONS"
  | "METRIC_NAME_CONFLICT"
  | "PROBE_TIMEOUT"
  | "BACKEND_ERROR_REPLY";

/** Base class of every error this package throws; `code` is stable across versions, unlike messages. */
export class ReplicationMetricsError extends Error {
  /** Machine-readable reason. */
  readonly code: ReplicationMetricsErrorCode;

  /** An error with a stable `code`. */
  constructor(code: ReplicationMetricsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Options a probe or the prom-client integration cannot work with (thrown by constructors). */
export class InvalidOptionsError extends ReplicationMetricsError {
  /** `message` says which option and why. */
  constructor(message: string) {
    super("INVALID_OPTIONS", message);
  }
}

/**
 * A prom-client registry already has a metric under one of the names this package renders: both
 * would print HELP and TYPE lines for it, which scrapers reject.
 */
export class MetricNameConflictError extends ReplicationMetricsError {
  /** The name that is taken. */
  readonly metricName: string;

  /** `metricName` is registered by something else. */
  constructor(metricName: string) {
    super(
      "METRIC_NAME_CONFLICT",
      `a metric named ${metricName} is already registered on this prom-client registry`,
    );
    this.metricName = metricName;
  }
}

/**
 * A backend call of a probe did not answer within its bound. Probes never throw it to their caller:
 * it reaches the logger (under `err`).
 */
export class ProbeTimeoutError extends ReplicationMetricsError {
  /** What was called, and its bound. */
  constructor(what: string, timeoutMs: number) {
    super("PROBE_TIMEOUT", `${what} did not answer within ${timeoutMs} ms`);
  }
}

/**
 * A backend answered a probe's call with an error (a JetStream API error other than "stream not
 * found"). Probes never throw it to their caller: it reaches the logger (under `err`).
 */
export class BackendErrorReply extends ReplicationMetricsError {
  /** `message` is the backend's description of the error. */
  constructor(message: string) {
    super("BACKEND_ERROR_REPLY", message);
  }
}
