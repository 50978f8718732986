import { NetmeshError } from "./netmesh-error.js";

/**
 * How an adapter failure should be treated by the bus.
 * - `transient`: a passing failure (timeout, overload, failover); retrying the same batch may succeed.
 * - `backpressure`: the backend asks us to slow down; retried with back-off.
 * - `connection`: the connection was lost or refused; retried, since clients reconnect.
 * - `fatal`: retrying cannot help (bad credentials, missing permission, invalid request).
 * - `serialization`: the data itself cannot be stored or read.
 * - `shutdown`: the adapter has been shut down and accepts no more work.
 */
export type AdapterErrorKind =
  | "transient"
  | "backpressure"
  | "connection"
  | "fatal"
  | "serialization"
  | "shutdown";

const RETRYABLE_KINDS: ReadonlySet<AdapterErrorKind> = new Set(["transient", "backpressure", "connection"]);

/** Stable codes of the adapter errors, one per {@link AdapterErrorKind}. */
export type AdapterErrorCode =
  | "ADAPTER_TRANSIENT"
  | "ADAPTER_BACKPRESSURE"
  | "ADAPTER_CONNECTION"
  | "ADAPTER_FATAL"
  | "ADAPTER_SERIALIZATION"
  | "ADAPTER_SHUTDOWN";

const CODE_OF_KIND: Readonly<Record<AdapterErrorKind, AdapterErrorCode>> = {
  transient: "ADAPTER_TRANSIENT",
  backpressure: "ADAPTER_BACKPRESSURE",
  connection: "ADAPTER_CONNECTION",
  fatal: "ADAPTER_FATAL",
  serialization: "ADAPTER_SERIALIZATION",
  shutdown: "ADAPTER_SHUTDOWN",
};

/**
 * An adapter failure with a classification. Adapters throw (reject with) one of the subclasses below;
 * the bus retries a batch only when {@link AdapterError.isRetryable} is true.
 */
export abstract class AdapterError extends NetmeshError {
  /** The classification that decides retry behaviour. */
  abstract readonly kind: AdapterErrorKind;
  private readonly declaredNotStored: boolean | undefined;

  /**
   * @param options.cause the underlying error (keep secrets out of it);
   * @param options.notStored `true` when nothing of the batch can have been stored (the request never
   *   left, or the backend refused it whole); `false` when the outcome is unknown. Default: by kind.
   */
  constructor(message: string, options?: { cause?: unknown; notStored?: boolean }) {
    super(message, options);
    this.declaredNotStored = options?.notStored;
    // An own enumerable property, so log serializers (pino's among them) copy the code; the getter
    // reads `kind` when asked, after the subclass set it.
    Object.defineProperty(this, "code", { enumerable: true, get: () => CODE_OF_KIND[this.kind] });
  }

  /**
   * Whether the failed call certainly stored nothing. It decides how the bus counts a batch it gives up
   * on: as lost, or as `uncertain` (it may be in the backend after all). By default `fatal`,
   * `serialization`, `shutdown` and `backpressure` failures stored nothing; `transient` and
   * `connection` failures (a timeout, a reset after the request left) may have.
   */
  get notStored(): boolean {
    return this.declaredNotStored ?? !(this.kind === "transient" || this.kind === "connection");
  }

  /** Stable code derived from {@link AdapterError.kind}. */
  get code(): AdapterErrorCode {
    return CODE_OF_KIND[this.kind];
  }

  /** True for `transient`, `backpressure` and `connection` failures. */
  get isRetryable(): boolean {
    return RETRYABLE_KINDS.has(this.kind);
  }
}

/** A passing failure: timeouts, overload, cluster failover. Retryable. */
export class TransientError extends AdapterError {
  readonly kind = "transient" as const;
}

/** The backend signalled overload. Retryable, with back-off. */
export class BackendBackpressureError extends AdapterError {
  readonly kind = "backpressure" as const;
  constructor(message = "backend backpressure", options?: { cause?: unknown; notStored?: boolean }) {
    super(message, options);
  }
}

/** The connection to the backend was lost or could not be made. Retryable: clients reconnect. */
export class ConnectionError extends AdapterError {
  readonly kind = "connection" as const;
}

/** A failure that retrying cannot fix (auth, permissions, invalid request, misconfiguration). */
export class FatalError extends AdapterError {
  readonly kind = "fatal" as const;
}

/** The data cannot be encoded for, or decoded from, the backend. Not retryable. */
export class SerializationError extends AdapterError {
  readonly kind = "serialization" as const;
}

/** The adapter was shut down; no further batches or polls are accepted. Not retryable. */
export class AdapterShutdownError extends AdapterError {
  readonly kind = "shutdown" as const;
  constructor(message = "adapter has been shut down", options?: { cause?: unknown; notStored?: boolean }) {
    super(message, options);
  }
}

const KINDS = new Set<string>(Object.keys(CODE_OF_KIND));

/**
 * True when `error` is an {@link AdapterError}, also when it comes from another copy of this package
 * (checked by shape, not only by prototype).
 */
export function isAdapterError(error: unknown): error is AdapterError {
  if (error instanceof AdapterError) return true;
  if (typeof error !== "object" || error === null) return false;
  const { kind, code } = error as { kind?: unknown; code?: unknown };
  return typeof kind === "string" && KINDS.has(kind) && code === CODE_OF_KIND[kind as AdapterErrorKind];
}

/**
 * The classification of any thrown value. Errors that are not adapter errors count as `transient`: the
 * contract requires `onBatch` to be idempotent, so a retry is safe, and a deterministic bug simply
 * exhausts its retries and is counted as a drop.
 */
export function adapterErrorKind(error: unknown): AdapterErrorKind {
  return isAdapterError(error) ? error.kind : "transient";
}

/** Whether the bus retries after `error` (see {@link adapterErrorKind}). */
export function isRetryableAdapterError(error: unknown): boolean {
  return RETRYABLE_KINDS.has(adapterErrorKind(error));
}

/**
 * Whether a failure of `onBatch` certainly stored nothing (see {@link AdapterError.notStored}). Errors
 * that are not adapter errors are treated as transient: the outcome is unknown.
 */
export function failedWithoutStoring(error: unknown): boolean {
  if (!isAdapterError(error)) return false;
  const declared = (error as { notStored?: unknown }).notStored;
  return typeof declared === "boolean" ? declared : error.kind !== "transient" && error.kind !== "connection";
}
