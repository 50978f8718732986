import {
  type AdapterError,
  ConnectionError,
  FatalError,
  SerializationError,
  TransientError,
  isAdapterError,
} from "@netmesh/core/adapter";
import { scrubUrls, scrubbedCopy } from "./redaction.js";

/** `text` with the credentials of every URL in it replaced by `[REDACTED]`. */
export const scrub = scrubUrls;

/** The message of any thrown value, scrubbed of credentials. */
export function describe(error: unknown): string {
  if (error instanceof Error) return scrub(error.message || error.name);
  return scrub(String(error));
}

/**
 * JetStream does not answer now: no responders (starting after a restart, electing a leader) or an API
 * status 503. Retryable; a write waits it out within its attempt (see the adapter's `write`).
 */
export class UnavailableError extends TransientError {}

/**
 * A read found the shard's stream gone (deleted after the adapter looked it up). Retryable: the read
 * looks the stream up again, and a shard without a stream reads as the empty page.
 */
export class StreamGoneError extends TransientError {}

/** True for the failures a write waits out within its attempt: a lost connection, JetStream not answering. */
export function isOutage(error: unknown): boolean {
  return error instanceof UnavailableError || (isAdapterError(error) && error.kind === "connection");
}

/** JetStream API error codes (`err_code`) the adapter tells apart. */
export const API_CODES = Object.freeze({
  streamNotFound: 10059,
  streamNameInUse: 10058,
  jetStreamNotEnabledForAccount: 10039,
  wrongLastMsgId: 10070,
  wrongLastSequence: 10071,
  expectedStreamMismatch: 10060,
  messageNotFound: 10037,
});

/** The error object of a JetStream API reply or PubAck: `{"error":{"code":503,"err_code":…,"description":…}}`. */
export interface ApiErrorBody {
  readonly code: number;
  readonly err_code?: number;
  readonly description?: string;
}

/**
 * Classifies an API error a JetStream reply carried. A 503 is the server saying "not now" (JetStream
 * starting, a leader election): retryable. The rest is fatal, because the same request will get the
 * same answer: a missing stream, a failed optimistic-concurrency check (wrong last sequence or message
 * id), a disabled account, and any code this adapter does not know.
 */
export function classifyApiError(body: ApiErrorBody, what: string): AdapterError {
  const text = `${what}: ${scrub(body.description ?? "unknown error")} (status ${body.code}, err_code ${String(body.err_code)})`;
  if (body.code === 503) return new UnavailableError(text);
  return new FatalError(text);
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

/** The cause chain of an error, outermost first (bounded: causes can loop). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

/**
 * Classifies an error thrown by the NATS client, by the error's `name` so errors from another copy of
 * the client (a caller's connection) are recognised too. The list is explicit:
 *
 * | client error | kind |
 * |---|---|
 * | `TimeoutError` | transient |
 * | no responders (`NoResponders`, `RequestError` caused by it, `JetStreamNotEnabled` caused by it) | transient: JetStream is starting or electing |
 * | `ConnectionError`, `ProtocolError` | connection |
 * | `AuthorizationError`, `UserAuthenticationExpiredError`, `PermissionViolationError` | fatal |
 * | `ClosedConnectionError`, `DrainingConnectionError` | fatal: that connection will not come back |
 * | `JetStreamApiError` and its subclasses | see {@link classifyApiError} |
 * | `InvalidArgumentError` about `max_payload` | serialization |
 * | anything else | fatal |
 */
export function classifyClientError(error: unknown, what: string): AdapterError {
  if (isAdapterError(error)) return error;
  const text = `${what}: ${describe(error)}`;
  // The cause is a scrubbed copy, never the client's error itself: that one can hold what the client
  // was given (options, the request). The adapter scrubs it again, of its own secrets, when it hands
  // the error out (see `Redactor.error`).
  const cause = { cause: scrubbedCopy(error) };
  const names = causes(error).map(nameOf);
  if (names.includes("TimeoutError")) return new TransientError(text, cause);
  if (names.includes("NoResponders")) return new UnavailableError(`${text} (no responders)`, cause);
  switch (names[0]) {
    case "ConnectionError":
    case "ProtocolError":
      return new ConnectionError(text, cause);
    case "AuthorizationError":
    case "UserAuthenticationExpiredError":
    case "PermissionViolationError":
    case "ClosedConnectionError":
    case "DrainingConnectionError":
      return new FatalError(text, cause);
    case "InvalidArgumentError":
      return /max_payload/.test(text) ? new SerializationError(text, cause) : new FatalError(text, cause);
    default:
      break;
  }
  const api = apiErrorOf(error);
  if (api !== undefined) return classifyApiError(api, what);
  return new FatalError(text, cause);
}

/** The API error body of a `JetStreamApiError` (or a subclass), found by shape. */
export function apiErrorOf(error: unknown): ApiErrorBody | undefined {
  if (!(error instanceof Error)) return undefined;
  const candidate = error as Error & { apiError?: unknown };
  if (typeof candidate.apiError !== "function") return undefined;
  const body: unknown = (candidate.apiError as () => unknown).call(error);
  if (typeof body !== "object" || body === null) return undefined;
  const { code } = body as { code?: unknown };
  return typeof code === "number" ? (body as ApiErrorBody) : undefined;
}

/** True when the client error says the stream does not exist (`err_code` 10059). */
export function isStreamNotFound(error: unknown): boolean {
  return apiErrorOf(error)?.err_code === API_CODES.streamNotFound;
}
