/**
 * `@netmesh/adapter-jetstream`: a `@netmesh` adapter storing events in NATS JetStream, one stream per
 * shard, with server-side dedup by message id and a pipelined publish path.
 * @module @netmesh/adapter-jetstream
 */
export { JetStreamAdapter } from "./jetstream-adapter.js";
export type { JetStreamPublishCounters } from "./jetstream-adapter.js";
export { JETSTREAM_DEFAULTS } from "./options.js";
export type { JetStreamAdapterOptions, StreamMismatchPolicy } from "./options.js";
export { shardSubject, streamName } from "./naming.js";
export { StreamResetError } from "./stream-reset.js";
export type { StreamReset } from "./stream-reset.js";
