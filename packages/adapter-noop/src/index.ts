/**
 * `@netmesh/adapter-noop`: an adapter that discards every batch but counts it, for benchmarks and as a
 * baseline of the bus's own overhead.
 * @packageDocumentation
 */
export { NoopAdapter } from "./noop-adapter.js";
