/**
 * Outcome of a synchronous ingest, returned instead of throwing so that overload never makes ingest
 * slower. Only `"accepted"` means the bus took responsibility for the event.
 * - `"full"`: the shard's ring is full (drop-newest, fail-producer, block, sample).
 * - `"sampled"`: rejected by sampling under pressure.
 * - `"closed"`: the bus is shutting down or shut down.
 * - `"unrouted"`: no shard can take the event right now (only with dynamic scaling).
 * - `"tooLarge"`: its JSON text is larger, in UTF-8 bytes, than the adapter's
 *   `capabilities.maxEventBytes` (the backend could never store it) or than the ring's `ringBytes`.
 * - `"invalidText"`: its text holds a lone UTF-16 surrogate (only possible with `ingestRaw`, since
 *   `JSON.stringify` escapes them): UTF-8 cannot carry it, so it could not be stored as given.
 */
export type IngestStatus =
  | "accepted"
  | "full"
  | "sampled"
  | "closed"
  | "unrouted"
  | "tooLarge"
  | "invalidText";

/** Why an event was refused before it was accepted (the producer was told synchronously). */
export type RejectReason =
  | "full"
  | "sampled"
  | "closed"
  | "unrouted"
  | "invalid"
  | "tooLarge"
  | "invalidText";

/**
 * Why an accepted event was dropped.
 * - `evicted`: pushed out of a full ring by a newer event (drop-oldest).
 * - `adapterRejected`: the adapter failed its batch with a non-retryable error (fatal, serialization).
 * - `adapterShutdown`: the adapter had been shut down.
 * - `retriesExhausted`: every attempt failed with a retryable error.
 * - `timedOut`: every attempt failed, the last one by timing out.
 * - `shutdownDeadline`: still pending when the deadline given to `shutdown()` passed.
 * - `producerState`: the sequence numbers of the batch could not be reserved in the producer-state
 *   file, so sending it could have reused message ids.
 * - `tooLarge`, `invalidText`, `refused`: the adapter stored the rest of the batch but refused this
 *   event alone (see `EventRejectionReason` in the adapter contract).
 */
export type DropReason =
  | "evicted"
  | "adapterRejected"
  | "adapterShutdown"
  | "retriesExhausted"
  | "timedOut"
  | "shutdownDeadline"
  | "producerState"
  | "tooLarge"
  | "invalidText"
  | "refused";

/** A counter per drop reason. */
export type DropCounts = Record<DropReason, number>;
/** A counter per reject reason. */
export type RejectCounts = Record<RejectReason, number>;

/** Creates a zeroed {@link DropCounts} (all keys present, so the object keeps one shape). */
export function zeroDropCounts(): DropCounts {
  return {
    evicted: 0,
    adapterRejected: 0,
    adapterShutdown: 0,
    retriesExhausted: 0,
    timedOut: 0,
    shutdownDeadline: 0,
    producerState: 0,
    tooLarge: 0,
    invalidText: 0,
    refused: 0,
  };
}

/** Creates a zeroed {@link RejectCounts}. */
export function zeroRejectCounts(): RejectCounts {
  return { full: 0, sampled: 0, closed: 0, unrouted: 0, invalid: 0, tooLarge: 0, invalidText: 0 };
}

/**
 * Lifecycle of a shard: `provisioning` (being created, not routable), `active` (routable), `draining`
 * (no new events; sending what it holds), `stopped` (empty and removed).
 */
export type ShardState = "provisioning" | "active" | "draining" | "stopped";

/** Counters of one shard. */
export interface ShardStats {
  /** The shard id. */
  readonly id: number;
  /** Its lifecycle state. */
  readonly state: ShardState;
  /** Events accepted into this shard. */
  readonly ingested: number;
  /** Events of this shard stored by the adapter. */
  readonly dispatched: number;
  /** Accepted events of this shard that were dropped (any reason). */
  readonly dropped: number;
  /** Batches of this shard stored by the adapter. */
  readonly batches: number;
  /** Events waiting in the ring. */
  readonly queued: number;
  /**
   * Size of the events waiting in the ring, in the unit of `ringBytes`: UTF-8 bytes when the adapter
   * takes bytes (`capabilities.payload: "bytes"`), UTF-16 code units when it takes text.
   */
  readonly bytesQueued: number;
  /** Events in the batch being dispatched right now. */
  readonly inFlight: number;
  /** Ring capacity, in events (`ringCapacity`). */
  readonly capacity: number;
  /** Ring capacity, in bytes (`ringBytes`). */
  readonly byteCapacity: number;
  /** How full the ring is by whichever bound is closer: `max(queued / capacity, bytesQueued / byteCapacity)`. */
  readonly fill: number;
  /** Sequence number the shard's next batch starts at. */
  readonly nextSequence: number;
}

/**
 * A snapshot of the bus's counters. Invariants:
 * `ingested = dispatched + dropped + pending` at every moment, hence `ingested = dispatched + dropped`
 * once the bus is quiescent (after `flush()` or `shutdown()`). Rejected events were never ingested.
 */
export interface BusStats {
  /** Events accepted (status `"accepted"`). */
  readonly ingested: number;
  /** Accepted events the adapter has stored. */
  readonly dispatched: number;
  /** Accepted events dropped, in total. */
  readonly dropped: number;
  /** Accepted events dropped, per reason. */
  readonly droppedBy: Readonly<DropCounts>;
  /**
   * The part of `dropped` whose fate is unknown: the bus gave up on their batch, but an attempt may
   * have stored it all the same (it timed out, was abandoned at a shutdown deadline, or failed after
   * the request may have reached the backend). `dropped − uncertain` events are certainly not stored.
   */
  readonly uncertain: number;
  /** {@link BusStats.uncertain} per drop reason. */
  readonly uncertainBy: Readonly<DropCounts>;
  /** Events refused at ingest, in total. */
  readonly rejected: number;
  /** Events refused at ingest, per reason (`unrouted` included). */
  readonly rejectedBy: Readonly<RejectCounts>;
  /** Batches the adapter has stored. */
  readonly batches: number;
  /** Accepted events neither dispatched nor dropped yet (queued or in flight). */
  readonly pending: number;
  /** Size of the events waiting in the rings (the sum of the shards' `bytesQueued`, in their unit). */
  readonly bytesQueued: number;
  /** Per-shard counters of the live shards, by ascending id (removed shards count in the totals). */
  readonly shards: readonly ShardStats[];
  /** Shard counts: active, draining, and removed so far. */
  readonly scaling: { readonly active: number; readonly draining: number; readonly removed: number };
}

/** Sum of a record's values. */
export function total(counts: Readonly<Record<string, number>>): number {
  let sum = 0;
  for (const value of Object.values(counts)) sum += value;
  return sum;
}

/** The shards and counters {@link collectStats} reads (the bus's topology). */
export interface StatsSource {
  shards(): readonly {
    readonly accepted: number;
    readonly dispatched: number;
    readonly batches: number;
    readonly pending: number;
    readonly state: ShardState;
    stats(): ShardStats;
  }[];
  active(): readonly unknown[];
  readonly retired: {
    readonly ingested: number;
    readonly dispatched: number;
    readonly batches: number;
    readonly shards: number;
  };
}

/** A consistent snapshot of every counter of a bus (see {@link BusStats} for the invariants). */
export function collectStats(
  topology: StatsSource,
  drops: Readonly<DropCounts>,
  uncertain: Readonly<DropCounts>,
  rejects: Readonly<RejectCounts>,
): BusStats {
  const live = topology.shards();
  const { retired } = topology;
  let ingested = retired.ingested;
  let dispatched = retired.dispatched;
  let batches = retired.batches;
  let pending = 0;
  let bytesQueued = 0;
  const shards = live.map((shard) => shard.stats());
  for (const shard of shards) bytesQueued += shard.bytesQueued;
  for (const shard of live) {
    ingested += shard.accepted;
    dispatched += shard.dispatched;
    batches += shard.batches;
    pending += shard.pending;
  }
  return {
    ingested,
    dispatched,
    dropped: total(drops),
    droppedBy: { ...drops },
    uncertain: total(uncertain),
    uncertainBy: { ...uncertain },
    rejected: total(rejects),
    rejectedBy: { ...rejects },
    batches,
    pending,
    bytesQueued,
    shards,
    scaling: {
      active: topology.active().length,
      draining: live.filter((s) => s.state === "draining").length,
      removed: retired.shards,
    },
  };
}
