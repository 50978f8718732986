/**
 * How an adapter deduplicates a retried batch (contract rule 3).
 * - `"write"`: the backend stores each message id once (a server-side mark, a dedup window).
 * - `"read"`: a retry may be stored twice, but reads (`pollShard`, `readShard`) return each message
 *   id once, because sequences are gap-free per (producer, shard) and the reader drops repeats.
 * - `"none"`: a retry after a lost reply may store events twice, and readers see both copies.
 */
export type DedupMode = "write" | "read" | "none";

/**
 * What an adapter and its backend can do, declared on the adapter object itself
 * ({@link Adapter.capabilities}) so the bus and the conformance suite read the same truth.
 *
 * The bus reads it after `init` resolves (an adapter may learn limits from its backend there, e.g. a
 * server's maximum payload) and relies on it from then on: it must not change after `init`.
 */
export interface AdapterCapabilities {
  /** `pollShard` returns what `onBatch` stored. `false` for a sink whose `pollShard` is always empty. */
  readonly readable: boolean;
  /** How a retried batch is deduplicated; see {@link DedupMode}. `"none"` when not `readable`. */
  readonly dedup: DedupMode;
  /**
   * How long after a first attempt a retry is still deduplicated, ms: `Infinity` when dedup state
   * never expires (a per-producer mark), the backend's window otherwise (JetStream's
   * `duplicate_window`), `0` with `dedup: "none"`.
   */
  readonly dedupWindowMs: number;
  /** Stored events outlive the adapter object: a new instance on the same backend reads them. */
  readonly persistent: boolean;
  /**
   * `"shard"`: events of a shard read back in the order they were written (rule 1). `"none"`: the
   * backend may reorder within a shard (each event is still read exactly once).
   */
  readonly ordering: "shard" | "none";
  /**
   * The largest event, in UTF-8 bytes of its JSON text, the adapter stores. The bus refuses a larger
   * event at ingest (status `"tooLarge"`), so it never reaches the wire; the adapter must store every
   * event up to this size. A positive integer, or `Infinity` for no limit of the adapter's own.
   */
  readonly maxEventBytes: number;
  /** The adapter implements {@link Adapter.readShard}, a streaming read that waits for new events. */
  readonly streamingReads: boolean;
  /** The adapter implements {@link Adapter.listShards}, discovery of the shards stored in the backend. */
  readonly listsShards: boolean;
  /**
   * How `onBatch` reads a batch's events, so the bus holds them that way from ingest on:
   * - `"bytes"`: through {@link Batch.bytes} (a socket, record data). Each event is written once as
   *   UTF-8 into a byte slab outside the JS heap; `bytes()` is free and `events` is decoded on demand.
   * - `"text"` (the default when absent): through {@link Batch.events}. The JSON strings are queued as
   *   they are, never encoded; `bytes()` encodes on demand. Also the choice for an adapter that reads
   *   neither (a sink).
   *
   * Either way both views are exact; this only decides which one is free. It also sets the unit of the
   * bus's `ringBytes` bound: UTF-8 bytes for `"bytes"`, UTF-16 code units for `"text"`.
   */
  readonly payload?: PayloadForm;
  /**
   * `pollShard` reads ahead by itself for pages of at least this many events: once it returned such
   * a page, it has already asked the backend for what follows (a JetStream consumer pulling the next
   * page), so the bus's `poll` adds no read-ahead of its own for them (a second buffer would only keep
   * decoded events alive longer). Optional, a positive integer; absent: the adapter reads only when
   * asked, and `poll` reads the next pages of a shard ahead itself.
   */
  readonly readsAheadFrom?: number;
}

/** How an adapter reads a batch's events: see {@link AdapterCapabilities.payload}. */
export type PayloadForm = "bytes" | "text";

const DEDUP_MODES: ReadonlySet<unknown> = new Set(["write", "read", "none"]);

/**
 * Every way `capabilities` breaks {@link AdapterCapabilities}, as sentences naming the field and the
 * value found; empty when it is valid. Shared by the bus (which refuses such an adapter) and the
 * conformance suite, so both judge a declaration the same way.
 */
export function capabilityProblems(capabilities: unknown): string[] {
  if (typeof capabilities !== "object" || capabilities === null) {
    return [`capabilities must be an object, got ${describe(capabilities)}`];
  }
  const c = capabilities as Partial<Record<keyof AdapterCapabilities, unknown>>;
  const problems: string[] = [];
  for (const flag of ["readable", "persistent", "streamingReads", "listsShards"] as const) {
    if (typeof c[flag] !== "boolean")
      problems.push(`capabilities.${flag} must be a boolean, got ${describe(c[flag])}`);
  }
  if (!DEDUP_MODES.has(c.dedup)) {
    problems.push(`capabilities.dedup must be "write", "read" or "none", got ${describe(c.dedup)}`);
  }
  const window = c.dedupWindowMs;
  if (typeof window !== "number" || Number.isNaN(window) || window < 0) {
    problems.push(
      `capabilities.dedupWindowMs must be a number ≥ 0 (Infinity allowed), got ${describe(window)}`,
    );
  } else if (c.dedup === "none" && window !== 0) {
    problems.push(`capabilities.dedupWindowMs must be 0 with dedup "none", got ${window}`);
  } else if (c.dedup !== "none" && window === 0) {
    problems.push(`capabilities.dedupWindowMs must be > 0 with dedup ${describe(c.dedup)}`);
  }
  if (c.payload !== undefined && c.payload !== "bytes" && c.payload !== "text") {
    problems.push(`capabilities.payload must be "bytes" or "text" when given, got ${describe(c.payload)}`);
  }
  const ahead = c.readsAheadFrom;
  if (ahead !== undefined && !(Number.isSafeInteger(ahead) && (ahead as number) > 0)) {
    problems.push(
      `capabilities.readsAheadFrom must be a positive integer when present, got ${describe(ahead)}`,
    );
  }
  if (c.ordering !== "shard" && c.ordering !== "none") {
    problems.push(`capabilities.ordering must be "shard" or "none", got ${describe(c.ordering)}`);
  }
  const max = c.maxEventBytes;
  if (!(max === Number.POSITIVE_INFINITY || (Number.isSafeInteger(max) && (max as number) > 0))) {
    problems.push(`capabilities.maxEventBytes must be a positive integer or Infinity, got ${describe(max)}`);
  }
  if (c.readable === false) {
    for (const flag of ["persistent", "streamingReads"] as const) {
      if (c[flag] === true) problems.push(`capabilities.${flag} cannot be true when readable is false`);
    }
    if (c.dedup !== undefined && c.dedup !== "none") {
      problems.push(`capabilities.dedup must be "none" when readable is false, got ${describe(c.dedup)}`);
    }
  }
  return problems;
}

function describe(value: unknown): string {
  if (typeof value === "string") return `${JSON.stringify(value)} (string)`;
  if (typeof value === "number" || typeof value === "boolean") return `${String(value)} (${typeof value})`;
  if (value === null) return "null";
  return typeof value;
}

/** A one-line summary for logs and suite titles: `"readable, dedup on write (∞), persistent, …"`. */
export function describeCapabilities(capabilities: AdapterCapabilities): string {
  const parts: string[] = [capabilities.readable ? "readable" : "write-only"];
  if (capabilities.dedup !== "none") {
    const window =
      capabilities.dedupWindowMs === Number.POSITIVE_INFINITY ? "∞" : `${capabilities.dedupWindowMs} ms`;
    parts.push(`dedup on ${capabilities.dedup} (${window})`);
  } else parts.push("no dedup");
  if (capabilities.persistent) parts.push("persistent");
  if (capabilities.readable) parts.push(capabilities.ordering === "shard" ? "ordered" : "unordered");
  parts.push(
    capabilities.maxEventBytes === Number.POSITIVE_INFINITY
      ? "no size limit"
      : `max ${capabilities.maxEventBytes} B`,
  );
  if (capabilities.streamingReads) parts.push("streaming reads");
  if (capabilities.listsShards) parts.push("lists shards");
  if (capabilities.payload === "bytes") parts.push("takes bytes");
  return parts.join(", ");
}
