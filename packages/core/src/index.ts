/**
 * `@netmesh/core`: the in-process event bus, its configuration, the in-memory adapter, and (re-exported)
 * the adapter contract of `@netmesh/core/adapter`.
 * @packageDocumentation
 */
export * from "./adapter.js";
export { EventBus, createBus } from "./bus.js";
export { DEFAULTS, MAX_BATCH_SIZE } from "./config.js";
export type { BackpressureOption, BatchOptions, BusOptions, SampleBackpressure } from "./config.js";
export {
  AdapterCompatibilityError,
  ConfigError,
  InvalidEventError,
  ProducerStateError,
} from "./errors.js";
export { ROUTING_HASH_SEED, loadRoutingHasher } from "./hashing.js";
export type { RoutingHasher } from "./hashing.js";
export { MemoryAdapter } from "./memory/memory-adapter.js";
export type { MemoryAdapterOptions } from "./memory/memory-adapter.js";
export { MemoryStore } from "./memory/memory-store.js";
export type { IngestManyOptions, IngestOptions, RawEvent } from "./raw-event.js";
export { reduceHash } from "./routing.js";
export type { ShutdownOptions, ShutdownReport } from "./shutdown.js";
export type {
  BusStats,
  DropCounts,
  DropReason,
  IngestStatus,
  RejectCounts,
  RejectReason,
  ShardStats,
} from "./stats.js";
