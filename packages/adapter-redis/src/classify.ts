import {
  type AdapterError,
  BackendBackpressureError,
  ConnectionError,
  FatalError,
  TransientError,
  isAdapterError,
} from "@netmesh/core/adapter";
import type { Redactor } from "./redaction.js";

/**
 * Server error codes (the first word of a Redis error reply) after which the same command can
 * succeed: cluster resharding and failover, a server loading its data set, a busy script, a replica
 * that was written to, too few replicas, a server refusing writes until it can persist again (a
 * failed background save under `stop-writes-on-bgsave-error`: `MISCONF`). Plus `NETMESH_GAP`, the
 * append script's own refusal of a chunk whose predecessor is not stored yet (the batch is retried
 * whole).
 */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  "MOVED",
  "ASK",
  "TRYAGAIN",
  "CLUSTERDOWN",
  "LOADING",
  "BUSY",
  "MASTERDOWN",
  "READONLY",
  "NOREPLICAS",
  "MISCONF",
  "NETMESH_GAP",
]);

/** Out of memory under `maxmemory`: Redis asks us to slow down until memory is freed (trim, eviction). */
const BACKPRESSURE_CODES: ReadonlySet<string> = new Set(["OOM"]);

/** Socket error codes of a lost, refused or unreachable connection: clients reconnect, so retryable. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** Error names ioredis gives a command it gave up on because the connection is gone. */
const CONNECTION_ERROR_NAMES: ReadonlySet<string> = new Set([
  "AbortError",
  "MaxRetriesPerRequestError",
  "ClusterAllFailedError",
]);

/** Messages of ioredis's own connection-state errors (they carry no code). */
const CONNECTION_MESSAGE =
  /^(Connection is closed|Stream isn't writeable|Command aborted due to connection close|None of startup nodes is available|Cluster is (disconnected|disconnecting|ended)|Failed to refresh slots cache|connect ETIMEDOUT)/;

/** The error code of a Redis error reply (`"MOVED"` for `"MOVED 3999 127.0.0.1:6381"`), else undefined. */
export function replyCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== "ReplyError") return undefined;
  const match = /^([A-Z][A-Z0-9_]*)\b/.exec(error.message);
  return match?.[1];
}

/** How a failure is classified; `"transient"` is also the answer for anything unrecognised that is not a reply. */
export type FailureKind = "transient" | "backpressure" | "connection" | "fatal";

/**
 * The kind of any error thrown by ioredis or a socket:
 * - error replies by code: {@link TRANSIENT_CODES} → transient, `OOM` → backpressure, any other
 *   (`ERR`, `NOAUTH`, `WRONGPASS`, `NOPERM`, `CROSSSLOT`, `WRONGTYPE`, `NOSCRIPT`, `EXECABORT`, script
 *   errors, …) → fatal: the server has judged the command and will judge it the same way again;
 * - lost, refused or unreachable connections → connection;
 * - TLS certificate failures → fatal;
 * - anything else (a bug, an unknown client state) → transient, as the bus treats unclassified errors.
 */
export function classifyKind(error: unknown): FailureKind {
  if (error instanceof Error && error.name === "ReplyError") {
    const code = replyCode(error) ?? "";
    if (TRANSIENT_CODES.has(code)) return "transient";
    if (BACKPRESSURE_CODES.has(code)) return "backpressure";
    return "fatal";
  }
  if (!(error instanceof Error)) return "transient";
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === "string") {
    if (CONNECTION_CODES.has(code)) return "connection";
    if (code.startsWith("ERR_TLS") || code.includes("CERT")) return "fatal";
  }
  if (CONNECTION_ERROR_NAMES.has(error.name) || CONNECTION_MESSAGE.test(error.message)) return "connection";
  return "transient";
}

/** How deep a cause chain is copied; deeper causes are dropped. */
const MAX_CAUSE_DEPTH = 8;

/**
 * A copy of `error` that keeps only what helps diagnose it — name, message, stack, `code`, `errno`,
 * `syscall` and the cause chain — each scrubbed of credentials. ioredis errors carry the failed
 * command (`command.args` holds the `AUTH` password) and client internals: none of that is copied.
 */
export function scrubbedError(error: unknown, redactor: Redactor, depth = 0): Error {
  const source = error instanceof Error ? error : undefined;
  const copy = new Error(redactor.text(source?.message ?? String(error)));
  copy.name = source?.name ?? "Error";
  copy.stack = source?.stack === undefined ? `${copy.name}: ${copy.message}` : redactor.text(source.stack);
  const extra = (source ?? {}) as { code?: unknown; errno?: unknown; syscall?: unknown; cause?: unknown };
  const fields = copy as Error & { code?: string | number; errno?: number; syscall?: string };
  if (typeof extra.code === "string") fields.code = redactor.text(extra.code);
  else if (typeof extra.code === "number") fields.code = extra.code;
  if (typeof extra.errno === "number") fields.errno = extra.errno;
  if (typeof extra.syscall === "string") fields.syscall = extra.syscall;
  if (extra.cause !== undefined && depth < MAX_CAUSE_DEPTH)
    copy.cause = scrubbedError(extra.cause, redactor, depth + 1);
  return copy;
}

/**
 * Wraps `error` in the contract's class for its kind, with `what` (the operation) and a message
 * scrubbed of credentials. The cause is always a scrubbed copy of the original (see
 * {@link scrubbedError}), never the original: no string reachable from the error, at any depth, can
 * hold a secret. Adapter errors pass through unchanged. `mayHaveStored` (a write that failed after
 * part of it was stored) declares `notStored: false` whatever the kind: the bus must not count what
 * was stored as lost.
 */
export function classify(
  error: unknown,
  what: string,
  redactor: Redactor,
  mayHaveStored = false,
): AdapterError {
  if (isAdapterError(error)) return error;
  const cause = scrubbedError(error, redactor);
  const message = `redis ${what}: ${cause.message}`;
  const options = mayHaveStored ? { cause, notStored: false } : { cause };
  switch (classifyKind(error)) {
    case "transient":
      return new TransientError(message, options);
    case "backpressure":
      return new BackendBackpressureError(message, options);
    case "connection":
      return new ConnectionError(message, options);
    case "fatal":
      return new FatalError(message, options);
  }
}
