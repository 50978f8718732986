/**
 * `@netmesh/adapter-noop`: an adapter that discards every batch but counts it, for benchmarks and as a
 * baseline of the bus's own overhead.
 * @module @netmesh/adapter-noop
 */
export { NoopAdapter } from "./noop-adapter.js";
