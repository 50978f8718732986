import { type Channel, channel } from "node:diagnostics_channel";
import type { TopologyEvent } from "../shard/topology.js";
import type { DropReason } from "../stats.js";

/**
 * The `node:diagnostics_channel` names the bus publishes on. They are part of the public API: names and
 * payload fields only grow (a field is never removed or renamed within a major version). Every payload
 * carries `producer`, the nonce that identifies the bus. Publishing costs one property read when nobody
 * subscribes, so the channels are always on.
 *
 * @example
 * ```ts
 * import { subscribe } from "node:diagnostics_channel";
 * subscribe(DIAGNOSTICS_CHANNELS.batchDispatched, (message) => histogram.observe(message.adapterMs));
 * ```
 */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  /** A batch was stored: {@link BatchDispatchedMessage}. */
  batchDispatched: "netmesh:batch:dispatched",
  /** An attempt failed and the batch will be retried: {@link BatchRetriedMessage}. */
  batchRetried: "netmesh:batch:retried",
  /** Accepted events were dropped: {@link EventsDroppedMessage}. */
  eventsDropped: "netmesh:events:dropped",
  /** Dropped events may have been stored all the same: {@link EventsUncertainMessage}. */
  eventsUncertain: "netmesh:events:uncertain",
  /** The shard set changed: {@link TopologyChangedMessage}. */
  topologyChanged: "netmesh:topology:changed",
  /** A shard's ring filled up, or drained back below half: {@link BackpressureMessage}. */
  backpressure: "netmesh:backpressure",
  /** A step of `shutdown()`: {@link ShutdownPhaseMessage}. */
  shutdownPhase: "netmesh:shutdown:phase",
});

/** What every message carries. */
export interface DiagnosticsMessage {
  /** The producer nonce of the bus that published it (16 hex digits). */
  readonly producer: string;
}

/** {@link DIAGNOSTICS_CHANNELS | DIAGNOSTICS_CHANNELS.batchDispatched}. */
export interface BatchDispatchedMessage extends DiagnosticsMessage {
  readonly adapter: string;
  readonly shard: number;
  /** Events stored (the batch minus any the adapter refused alone). */
  readonly events: number;
  /** Events the adapter refused alone (see `EventRejection`). */
  readonly refused: number;
  /**
   * UTF-8 bytes of the batch's JSON texts: free to read when the adapter takes bytes (the length of the
   * slab view); for one that takes text, counted when first read (a pass over the batch's texts).
   */
  readonly bytes: number;
  /** Which attempt succeeded (1 for the first). */
  readonly attempt: number;
  /** Time inside `onBatch` for the successful attempt, ms. */
  readonly adapterMs: number;
  /** Mean time the batch's events waited in the ring before the batch left, ms. */
  readonly queueDelayMs: number;
}

/** {@link DIAGNOSTICS_CHANNELS | DIAGNOSTICS_CHANNELS.batchRetried}. */
export interface BatchRetriedMessage extends DiagnosticsMessage {
  readonly adapter: string;
  readonly shard: number;
  readonly events: number;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** The failure's classification (`"transient"`, `"connection"`, `"backpressure"`), `"timeout"` for a timed-out attempt. */
  readonly reason: string;
  /** The pause before the next attempt, ms. */
  readonly delayMs: number;
  /** The failure (an adapter error: free of credentials). */
  readonly error: unknown;
}

/** {@link DIAGNOSTICS_CHANNELS | DIAGNOSTICS_CHANNELS.eventsDropped}. */
export interface EventsDroppedMessage extends DiagnosticsMessage {
  readonly shard: number;
  readonly reason: DropReason;
  readonly count: number;
  /** True when these events may have been stored all the same (they are also published as uncertain). */
  readonly uncertain: boolean;
  /**
   * What was dropped: `"batch"`, a whole batch the bus had handed to the adapter (it gave up on it);
   * `"queued"`, events still in the ring (a shutdown deadline); `"event"`, one event (evicted from a
   * full ring, or refused alone by the adapter).
   */
  readonly scope: "batch" | "queued" | "event";
}

/** {@link DIAGNOSTICS_CHANNELS | DIAGNOSTICS_CHANNELS.eventsUncertain}. */
export interface EventsUncertainMessage extends DiagnosticsMessage {
  readonly shard: number;
  readonly reason: DropReason;
  readonly count: number;
}

/** {@link DIAGNOSTICS_CHANNELS | DIAGNOSTICS_CHANNELS.topologyChanged}: the bus's {@link TopologyEvent}. */
export interface TopologyChangedMessage extends DiagnosticsMessage, TopologyEvent {}

/** {@link DIAGNOSTICS_CHANNELS | DIAGNOSTICS_CHANNELS.backpressure}. */
export interface BackpressureMessage extends DiagnosticsMessage {
  readonly shard: number;
  /** `"engaged"`: the ring is full (events are evicted, refused or made to wait). `"released"`: back below half. */
  readonly state: "engaged" | "released";
  /** Events queued in the ring at that moment. */
  readonly queued: number;
  readonly capacity: number;
}

/** {@link DIAGNOSTICS_CHANNELS | DIAGNOSTICS_CHANNELS.shutdownPhase}. */
export interface ShutdownPhaseMessage extends DiagnosticsMessage {
  /** In order: draining, drained, flushing, waitingForSubscriptions, closingAdapter, done. */
  readonly phase: "draining" | "drained" | "flushing" | "waitingForSubscriptions" | "closingAdapter" | "done";
  /** Time since `shutdown()` was called, ms. */
  readonly elapsedMs: number;
}

/** The channel objects, created once (creating one is not free; publishing to one nobody hears is). */
export const channels = {
  batchDispatched: channel(DIAGNOSTICS_CHANNELS.batchDispatched) as Channel,
  batchRetried: channel(DIAGNOSTICS_CHANNELS.batchRetried) as Channel,
  eventsDropped: channel(DIAGNOSTICS_CHANNELS.eventsDropped) as Channel,
  eventsUncertain: channel(DIAGNOSTICS_CHANNELS.eventsUncertain) as Channel,
  topologyChanged: channel(DIAGNOSTICS_CHANNELS.topologyChanged) as Channel,
  backpressure: channel(DIAGNOSTICS_CHANNELS.backpressure) as Channel,
  shutdownPhase: channel(DIAGNOSTICS_CHANNELS.shutdownPhase) as Channel,
};
