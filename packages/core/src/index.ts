/**
 * `@netmesh/core`: the in-process event bus, its configuration, the in-memory adapter, and (re-exported)
 * the adapter contract of `@netmesh/core/adapter`.
 * @module @netmesh/core
 */
export * from "./adapter.js";
export { EventBus, createBus } from "./bus.js";
export { DEFAULTS, MAX_BATCH_SIZE } from "./config.js";
export { DIAGNOSTICS_CHANNELS } from "./diagnostics/channels.js";
export type {
  BackpressureMessage,
  BatchDispatchedMessage,
  BatchRetriedMessage,
  DiagnosticsMessage,
  EventsDroppedMessage,
  EventsUncertainMessage,
  ShutdownPhaseMessage,
  TopologyChangedMessage,
} from "./diagnostics/channels.js";
export type { BackpressureOption, BatchOptions, BusOptions, SampleBackpressure } from "./config.js";
export { CompositeCursor } from "./consumer/cursor.js";
export type { AdvanceOutcome } from "./consumer/cursor.js";
export { Reader, createReader } from "./consumer/reader.js";
export type { ReaderOptions } from "./consumer/reader.js";
export type { AckMode, GroupSubscribeOptions, GroupSubscription } from "./consumer/group.js";
export { FILTER_LIMITS, compileFilter } from "./consumer/filter.js";
export type { CompiledFilter, Filter, JsonValue } from "./consumer/filter.js";
export { MAX_PER_SHARD_FETCH, MAX_POLL_LIMIT } from "./consumer/poll.js";
export type { PollOrder, PollRequest, PollResult } from "./consumer/poll.js";
export type { SubscribeOptions, Subscription } from "./consumer/subscribe.js";
export {
  AdapterCompatibilityError,
  BusClosedError,
  ConfigError,
  InvalidCursorError,
  InvalidEventError,
  InvalidFilterError,
  InvalidPollRequestError,
  ProducerStateError,
  ScalingError,
} from "./errors.js";
export type { ScalingRefusal } from "./errors.js";
export type { ScalingDecision, ShardMetrics } from "./scaling/evaluate.js";
export { SCALING_PRESETS } from "./scaling/policy.js";
export type { ScalingPolicy } from "./scaling/policy.js";
export { SLOT_COUNT } from "./scaling/slot-table.js";
export type { TopologyEvent, TopologyListener } from "./shard/topology.js";
export { ROUTING_HASH_SEED, loadRoutingHasher } from "./ingest/hashing.js";
export type { RoutingHasher } from "./ingest/hashing.js";
export { MemoryAdapter } from "./memory/memory-adapter.js";
export type { MemoryAdapterOptions } from "./memory/memory-adapter.js";
export { MemoryStore } from "./memory/memory-store.js";
export type { IngestManyOptions, IngestOptions, RawEvent } from "./ingest/raw-event.js";
export { reduceHash } from "./shard/routing.js";
export type { ShutdownOptions, ShutdownReport } from "./lifecycle/shutdown.js";
export type {
  BusStats,
  DropCounts,
  DropReason,
  IngestStatus,
  RejectCounts,
  RejectReason,
  ShardState,
  ShardStats,
} from "./stats.js";
