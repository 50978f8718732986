import type { Adapter } from "@netmesh/core/adapter";

/** What the suite hands {@link ConformanceOptions.create} and {@link ConformanceOptions.reset}. */
export interface AdapterTestContext {
  /**
   * A name unique to one case of one run, made of `[a-z0-9-]` only and at most 40 characters long, so
   * it fits a Redis key prefix, a NATS stream name, a Kinesis stream name or a directory name. Adapters
   * created with the same namespace must address the same data (the persistence cases rely on it);
   * adapters with different namespaces must not see each other's data.
   */
  readonly namespace: string;
  /** The id of the case running, e.g. `"cursor.limit-boundary"`: handy in backend-side logs. */
  readonly caseId: string;
}

/**
 * What an adapter declares about its backend. Every flag defaults to the full contract, so leaving one
 * out can never switch a check off silently; switch off only what the backend really cannot do, and
 * the suite checks the rest. The suite title lists the flags in force.
 */
export interface AdapterFeatures {
  /**
   * `pollShard` returns what `onBatch` stored. Default `true`. Declare `false` for an adapter that
   * discards (a sink, the noop adapter): its `pollShard` must then always return the empty page
   * `{ events: [], nextId: undefined, hasMore: false }`, cases that need read-back are skipped, and
   * write-side cases still check that every batch is accepted. `dedup` and `persistent` cannot be
   * declared `true` together with `readable: false`.
   */
  readonly readable?: boolean;
  /**
   * A retried batch (the same producer, shard, sequences and message ids) is stored once, also when it
   * arrives through another adapter instance on the same namespace (with `persistent`). Default `true`.
   * With `false` the suite only checks that a retry loses nothing (each event is stored at least once).
   */
  readonly dedup?: boolean;
  /**
   * A second adapter instance created with the same namespace reads what the first one wrote, after
   * the first was shut down. Default `true`. For `MemoryAdapter`, share one `MemoryStore` per namespace.
   */
  readonly persistent?: boolean;
  /**
   * `"shard"` (default): events of a shard read back in the order they were written (contract rule 1).
   * `"none"`: the backend may reorder within a shard; order checks become exactly-once checks. Paging
   * (no skip, no repeat) is checked either way.
   */
  readonly ordering?: "shard" | "none";
  /**
   * The largest event, in UTF-8 bytes of its JSON text, the adapter accepts and the suite writes.
   * Default 1 MiB (1,048,576). At least 16 KiB (16,384): smaller events cannot carry the nesting case.
   */
  readonly maxEventBytes?: number;
}

/** {@link AdapterFeatures} with every default applied. */
export interface ResolvedFeatures {
  /** See {@link AdapterFeatures.readable}. */
  readonly readable: boolean;
  /** See {@link AdapterFeatures.dedup}; always false when not `readable`. */
  readonly dedup: boolean;
  /** See {@link AdapterFeatures.persistent}; always false when not `readable`. */
  readonly persistent: boolean;
  /** See {@link AdapterFeatures.ordering}. */
  readonly ordering: "shard" | "none";
  /** See {@link AdapterFeatures.maxEventBytes}. */
  readonly maxEventBytes: number;
}

/** Options of {@link runAdapterConformance} and {@link conformanceCases}. */
export interface ConformanceOptions {
  /** The adapter's name in the suite title, e.g. `"redis"`. */
  readonly name: string;
  /**
   * Returns a new, not yet initialised adapter for the namespace in `context` (it may be async). The
   * suite calls `init` itself, and `shutdown` on every adapter it created when the case ends. It may
   * call `create` several times per case, with the same namespace to check persistence.
   */
  readonly create: (context: AdapterTestContext) => Adapter | Promise<Adapter>;
  /** What the backend supports; see {@link AdapterFeatures}. Default: the full contract. */
  readonly features?: AdapterFeatures;
  /**
   * Deletes what a case wrote: called after each case, passed or failed, with that case's context
   * (after its adapters were shut down). Optional: namespaces never collide, so it only saves space.
   */
  readonly reset?: (context: AdapterTestContext) => void | Promise<void>;
  /** Runs once before the suite (vitest `beforeAll`), e.g. to start or reach a backend. */
  readonly setup?: () => void | Promise<void>;
  /** Runs once after the suite (vitest `afterAll`). */
  readonly teardown?: () => void | Promise<void>;
  /** Timeout of one case in ms. Default 30,000. */
  readonly timeoutMs?: number;
}

/** Default of {@link AdapterFeatures.maxEventBytes}: 1 MiB. */
export const DEFAULT_MAX_EVENT_BYTES = 1_048_576;
/** Lower bound of {@link AdapterFeatures.maxEventBytes}. */
export const MIN_MAX_EVENT_BYTES = 16_384;

/**
 * Applies the defaults of {@link AdapterFeatures} and rejects contradictions (a `TypeError`), so a
 * mistyped declaration fails loudly instead of weakening the suite.
 */
export function resolveFeatures(features: AdapterFeatures = {}): ResolvedFeatures {
  const readable = features.readable ?? true;
  if (typeof readable !== "boolean") throw new TypeError("features.readable must be a boolean");
  for (const flag of ["dedup", "persistent"] as const) {
    const value = features[flag];
    if (value !== undefined && typeof value !== "boolean")
      throw new TypeError(`features.${flag} must be a boolean`);
    if (!readable && value === true) {
      throw new TypeError(`features.${flag} cannot be true for an adapter that is not readable`);
    }
  }
  const ordering = features.ordering ?? "shard";
  if (ordering !== "shard" && ordering !== "none")
    throw new TypeError('features.ordering must be "shard" or "none"');
  const maxEventBytes = features.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  if (!Number.isSafeInteger(maxEventBytes) || maxEventBytes < MIN_MAX_EVENT_BYTES) {
    throw new TypeError(
      `features.maxEventBytes must be an integer ≥ ${MIN_MAX_EVENT_BYTES}, got ${maxEventBytes}`,
    );
  }
  return {
    readable,
    // Without read-back neither can be observed, so they resolve to false rather than to a vacuous true.
    dedup: readable && (features.dedup ?? true),
    persistent: readable && (features.persistent ?? true),
    ordering,
    maxEventBytes,
  };
}

/** Short description of the flags in force, for the suite title: `"readable, dedup, …, max 1048576 B"`. */
export function describeFeatures(features: ResolvedFeatures): string {
  const flags: string[] = [];
  flags.push(features.readable ? "readable" : "write-only");
  if (features.dedup) flags.push("dedup");
  if (features.persistent) flags.push("persistent");
  if (features.readable) flags.push(features.ordering === "shard" ? "ordered" : "unordered");
  flags.push(`max ${features.maxEventBytes} B`);
  return flags.join(", ");
}
