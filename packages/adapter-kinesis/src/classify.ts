import {
  type AdapterError,
  AdapterShutdownError,
  BackendBackpressureError,
  ConnectionError,
  FatalError,
  SerializationError,
  TransientError,
  isAdapterError,
} from "@netmesh/core/adapter";
import type { Redactor } from "./redaction.js";

/** How a failure is treated. */
export type FailureKind = "transient" | "backpressure" | "connection" | "fatal";

/** Kinesis and AWS error codes that ask the caller to slow down. */
const BACKPRESSURE: ReadonlySet<string> = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "LimitExceededException",
  "KMSThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "SlowDown",
]);

/** Codes of failures that the same request can survive: the service had a passing problem. */
const TRANSIENT: ReadonlySet<string> = new Set([
  "InternalFailure",
  "InternalFailureException",
  "InternalServerError",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "ExpiredIteratorException",
  "RequestTimeout",
  "RequestTimeoutException",
  "AbortError",
]);

/** Why a fatal code is fatal, for the message: what to check. */
const FATAL_HINTS: Readonly<Record<string, string>> = {
  ResourceNotFoundException: "the stream (or shard) does not exist",
  ResourceInUseException: "the stream is not in a state that allows this (deleting, or not ACTIVE)",
  AccessDeniedException: "the credentials lack a permission",
  AccessDenied: "the credentials lack a permission",
  UnrecognizedClientException: "the access key is not valid",
  InvalidSignatureException: "the secret key does not match the access key",
  SignatureDoesNotMatch: "the secret key does not match the access key",
  IncompleteSignature: "the request signature is malformed",
  MissingAuthenticationToken: "no credentials were sent",
  ExpiredTokenException: "the session token has expired",
  ExpiredToken: "the session token has expired",
  InvalidClientTokenId: "the access key is not valid",
  CredentialsProviderError: "no AWS credentials could be found",
  InvalidArgumentException: "Kinesis refused the request as invalid",
  ValidationException: "Kinesis refused the request as invalid",
  KMSAccessDeniedException: "the stream's KMS key cannot be used with these credentials",
  KMSDisabledException: "the stream's KMS key is disabled",
  KMSInvalidStateException: "the stream's KMS key is not in a usable state",
  KMSNotFoundException: "the stream's KMS key does not exist",
  KMSOptInRequired: "the account is not subscribed to KMS",
};

/** Socket error codes of a lost, refused or unreachable connection. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
]);

interface ErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: {
    readonly httpStatusCode?: unknown;
    readonly requestId?: unknown;
    readonly attempts?: unknown;
  };
}

/** The AWS error code of an SDK error (its `name`), or a Node error code, or `"Error"`. */
export function errorCode(error: unknown): string {
  if (typeof error !== "object" || error === null) return "Error";
  const shape = error as ErrorShape;
  if (typeof shape.name === "string" && shape.name !== "Error") return shape.name;
  if (typeof shape.code === "string") return shape.code;
  return "Error";
}

/**
 * The kind of any failure of the SDK or a socket: throttling codes are backpressure; Kinesis's
 * internal failures, 5xx replies, request timeouts and aborts are transient; refused, reset or
 * unreachable connections (and a connect timeout) are connection failures; every other 4xx reply
 * (missing stream, access, signature, validation, KMS) is fatal, since the service judged the request
 * and will judge it the same way again; anything unrecognised is transient, as the bus treats it.
 *
 * A service's reply is judged by its code and HTTP status alone: its message is the service's text
 * (it may quote anything, "socket hang up" included), never evidence. Only an error raised on this
 * side, with no reply, is told apart by what Node or the HTTP handler says.
 */
export function classifyKind(error: unknown): FailureKind {
  if (typeof error !== "object" || error === null) return "transient";
  const shape = error as ErrorShape;
  const code = errorCode(error);
  if (BACKPRESSURE.has(code)) return "backpressure";
  if (TRANSIENT.has(code)) return "transient";
  if (code in FATAL_HINTS) return "fatal";
  const status = shape.$metadata?.httpStatusCode;
  if (typeof status === "number" || shape.$fault === "server" || shape.$fault === "client") {
    if (shape.$fault === "server" || (typeof status === "number" && status >= 500)) return "transient";
    if (shape.$fault === "client" || (typeof status === "number" && status >= 400)) return "fatal";
    return "transient";
  }
  const nodeCode = typeof shape.code === "string" ? shape.code : "";
  if (CONNECTION_CODES.has(nodeCode) || CONNECTION_CODES.has(code)) return "connection";
  const message = typeof shape.message === "string" ? shape.message : "";
  // The handler's connect timeout carries no code: its own wording is all that tells it from the
  // request timeout (which carries ETIMEDOUT).
  if (code === "TimeoutError") return CONNECT_TIMEOUT.test(message) ? "connection" : "transient";
  if (/region is missing/i.test(message)) return "fatal";
  return "transient";
}

/** The wording of `@smithy/node-http-handler`'s connect timeout ("did not establish a connection"). */
const CONNECT_TIMEOUT = /did not establish a connection/;

/**
 * A copy of an SDK error that is safe to keep as `cause`: its code, scrubbed message, HTTP status and
 * request id, and nothing else (no request, response, headers or client reference that could hold a
 * credential).
 */
export class KinesisServiceError extends Error {
  /** The AWS error code (`"ResourceNotFoundException"`) or Node error code (`"ECONNREFUSED"`). */
  readonly code: string;
  /** HTTP status of the reply, when there was one. */
  readonly httpStatusCode: number | undefined;
  /** AWS request id, for support cases. */
  readonly requestId: string | undefined;

  constructor(error: unknown, redactor: Redactor) {
    const shape = (typeof error === "object" && error !== null ? error : {}) as ErrorShape;
    super(redactor.text(typeof shape.message === "string" ? shape.message : String(error)));
    this.name = "KinesisServiceError";
    // The code is the service's text too (a reply's `__type`).
    this.code = redactor.text(errorCode(error));
    const status = shape.$metadata?.httpStatusCode;
    this.httpStatusCode = typeof status === "number" ? status : undefined;
    const requestId = shape.$metadata?.requestId;
    this.requestId = typeof requestId === "string" ? redactor.text(requestId) : undefined;
  }
}

/**
 * The AWS or Node code behind a classified error (the code of its {@link KinesisServiceError} cause),
 * or of such a cause itself.
 */
export function causeCode(error: unknown): string | undefined {
  if (error instanceof KinesisServiceError) return error.code;
  if (!isAdapterError(error)) return undefined;
  return error.cause instanceof KinesisServiceError ? error.cause.code : undefined;
}

/**
 * Wraps any failure in the contract's class for its kind. The message names the operation and the
 * code, says for fatal errors that retrying cannot help and what to check, and is scrubbed of
 * credentials; the cause is a {@link KinesisServiceError} copy, never the SDK's object. Adapter errors
 * pass through unchanged.
 */
export function classify(error: unknown, what: string, redactor: Redactor): AdapterError {
  if (isAdapterError(error)) return error;
  const cause = new KinesisServiceError(error, redactor);
  const kind = classifyKind(error);
  const base = `kinesis ${what}: ${cause.code}: ${cause.message}`;
  // The SDK sent the request more than once: an earlier attempt (a reset, a timeout) may have been
  // applied, whatever the last answer says.
  const attempts = (error as ErrorShape).$metadata?.attempts;
  const options = typeof attempts === "number" && attempts > 1 ? { cause, notStored: false } : { cause };
  switch (kind) {
    case "backpressure":
      return new BackendBackpressureError(`${base} (throttled: retry with back-off)`, options);
    case "transient":
      return new TransientError(base, options);
    case "connection":
      return new ConnectionError(`${base} (cannot reach Kinesis)`, options);
    case "fatal": {
      const hint = FATAL_HINTS[cause.code] ?? "Kinesis refused the request";
      return new FatalError(`${base} (fatal: ${hint}; retrying cannot help)`, options);
    }
  }
}

/**
 * `error` declaring that part of its batch may be stored (`notStored: false`), for a write that fails
 * after some of its records were confirmed: the default of a fatal, throttling or shutdown error is
 * "nothing stored", which would make the bus count stored events as certainly lost.
 */
export function mayHaveStored(error: unknown): unknown {
  if (!isAdapterError(error) || !error.notStored) return error;
  const options = { cause: error.cause, notStored: false };
  switch (error.kind) {
    case "backpressure":
      return new BackendBackpressureError(error.message, options);
    case "fatal":
      return new FatalError(error.message, options);
    case "shutdown":
      return new AdapterShutdownError(error.message, options);
    case "serialization":
      return new SerializationError(error.message, options);
    case "connection":
      return new ConnectionError(error.message, options);
    case "transient":
      return new TransientError(error.message, options);
  }
}
