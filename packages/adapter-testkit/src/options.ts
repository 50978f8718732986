import type { Adapter, AdapterCapabilities } from "@netmesh/core/adapter";

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
 * Faults the suite can inject when the author supplies them (Watermill's universal tests have the same
 * idea). With them, the `faults.*` cases run a backend restart mid-stream and a lost reply, and require
 * no loss and, with dedup, no duplicate. Run such a suite against a backend of the test's own (a server
 * on a free port), never against a shared one. {@link createFaultProxy} makes `loseNextReply` easy.
 */
export interface FaultHooks {
  /**
   * Stops the backend and starts it again with its data (as a crash and restart would), resolving when
   * it accepts connections again. Adapters created before keep being used: they must reconnect.
   */
  readonly restartBackend?: () => Promise<void>;
  /**
   * Makes the next reply the backend sends to any adapter of the suite get lost after the backend
   * acted on the request (the connection drops instead), e.g. {@link FaultProxy.loseNextReply}.
   */
  readonly loseNextReply?: () => void | Promise<void>;
}

/** Options of {@link runAdapterConformance} and {@link conformanceCases}. */
export interface ConformanceOptions {
  /** The adapter's name in the suite title, e.g. `"redis"`. */
  readonly name: string;
  /**
   * Returns a new, not yet initialised adapter for the namespace in `context` (it may be async). The
   * suite calls `init` itself, and `shutdown` on every adapter it created when the case ends. It may
   * call `create` several times per case, with the same namespace to check persistence. The suite
   * reads what to check from the adapter's own `capabilities`.
   */
  readonly create: (context: AdapterTestContext) => Adapter | Promise<Adapter>;
  /**
   * Deletes what a case wrote: called after each case, passed or failed, with that case's context
   * (after its adapters were shut down). Optional: namespaces never collide, so it only saves space.
   */
  readonly reset?: (context: AdapterTestContext) => void | Promise<void>;
  /** Runs once before the suite (vitest `beforeAll`), e.g. to start or reach a backend. */
  readonly setup?: () => void | Promise<void>;
  /** Runs once after the suite (vitest `afterAll`). */
  readonly teardown?: () => void | Promise<void>;
  /** Fault injection; the `faults.*` cases are skipped without it. */
  readonly faults?: FaultHooks;
  /** Timeout of one case in ms. Default 30,000. */
  readonly timeoutMs?: number;
}

/**
 * The largest event the suite writes for the size cases, in UTF-8 bytes: 1 MiB when the adapter has
 * no limit of its own. A declared limit above {@link MAX_TESTED_EVENT_BYTES} is not written (the
 * boundary case is skipped with that reason), to keep the suite's memory and time bounded.
 */
export const DEFAULT_MAX_EVENT_BYTES = 1_048_576;
/** The smallest `maxEventBytes` the suite accepts: smaller events cannot carry the nesting case. */
export const MIN_MAX_EVENT_BYTES = 16_384;
/** The largest declared `maxEventBytes` whose boundary the suite writes (8 MiB). */
export const MAX_TESTED_EVENT_BYTES = 8 * 1_048_576;

/** What the suite checks, derived from the adapter's capabilities. */
export interface ResolvedFeatures {
  /** `capabilities.readable`. */
  readonly readable: boolean;
  /** A retry is stored, or read, once (`capabilities.dedup` is not `"none"`). */
  readonly dedup: boolean;
  /** `capabilities.persistent`. */
  readonly persistent: boolean;
  /** `capabilities.ordering`. */
  readonly ordering: "shard" | "none";
  /** The size of the largest events the suite writes (see {@link DEFAULT_MAX_EVENT_BYTES}). */
  readonly maxEventBytes: number;
  /** The declared limit, when the suite writes its boundary (finite and at most 8 MiB). */
  readonly sizeBoundary: number | undefined;
  /** `capabilities.streamingReads`. */
  readonly streaming: boolean;
  /** `capabilities.listsShards`. */
  readonly listsShards: boolean;
  /** Which fault hooks were supplied. */
  readonly restart: boolean;
  /** See {@link FaultHooks.loseNextReply}. */
  readonly lostReply: boolean;
}

/** What the suite checks for an adapter with these (valid) capabilities and these fault hooks. */
export function resolveFeatures(
  capabilities: AdapterCapabilities,
  faults: FaultHooks = {},
): ResolvedFeatures {
  const declared = capabilities.maxEventBytes;
  const finite = Number.isFinite(declared);
  return {
    readable: capabilities.readable,
    dedup: capabilities.readable && capabilities.dedup !== "none",
    persistent: capabilities.readable && capabilities.persistent,
    ordering: capabilities.ordering,
    maxEventBytes: finite ? Math.min(declared, MAX_TESTED_EVENT_BYTES) : DEFAULT_MAX_EVENT_BYTES,
    sizeBoundary: finite && declared <= MAX_TESTED_EVENT_BYTES ? declared : undefined,
    streaming: capabilities.readable && capabilities.streamingReads,
    listsShards: capabilities.listsShards,
    restart: typeof faults.restartBackend === "function",
    lostReply: typeof faults.loseNextReply === "function",
  };
}
