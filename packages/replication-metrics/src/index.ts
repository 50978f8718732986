/**
 * `@netmesh/replication-metrics`: the net-mesh replication registry (per-channel replication lag and
 * seven counters, rendered as the crate's exact Prometheus text), a prom-client integration, and
 * probes that feed it from a Redis master and its replicas or from a JetStream cluster.
 * @module @netmesh/replication-metrics
 */
export { ChannelReplicationMetrics } from "./channel-metrics.js";
export {
  BackendErrorReply,
  InvalidOptionsError,
  MetricNameConflictError,
  ProbeTimeoutError,
  ReplicationMetricsError,
} from "./errors.js";
export type { ReplicationMetricsErrorCode } from "./errors.js";
export { JetStreamReplicationProbe } from "./jetstream/jetstream-probe.js";
export type { JetStreamReplicationProbeOptions } from "./jetstream/jetstream-probe.js";
export type {
  NatsRequester,
  PeerInfoLike,
  StreamInfoLike,
  StreamInfoSource,
} from "./jetstream/stream-info.js";
export { silentLogger } from "./logger.js";
export type { LogMethod, Logger } from "./logger.js";
export { jetStreamShardStreams, redisShardStreams } from "./probe/channels.js";
export type { ShardStreamOptions } from "./probe/channels.js";
export type { BoundedCalls, FailureLog } from "./probe/bounded-calls.js";
export { PeriodicProbe } from "./probe/periodic-probe.js";
export type { ProbeTimingOptions } from "./probe/periodic-probe.js";
export { registerReplicationMetrics } from "./prom-client.js";
export type { PromClientRegistry, ReplicationMetricsCollector } from "./prom-client.js";
export {
  COUNTER_FAMILIES,
  LAG_METRIC,
  METRIC_NAMES,
  escapeLabelValue,
  formatSeconds,
} from "./prometheus-text.js";
export type { CounterFamily } from "./prometheus-text.js";
export { RedisReplicationProbe } from "./redis/redis-probe.js";
export type { RedisReplicationProbeOptions, RedisWriteCheck } from "./redis/redis-probe.js";
export type { RedisAddress, RedisProbeClient } from "./redis/redis-client.js";
export { MAX_TRACKED_CHANNELS, OVERFLOW_CHANNEL_LABEL, ReplicationMetricsRegistry } from "./registry.js";
export { ReplicationMetricsSnapshot } from "./snapshot.js";
export type { ChannelMetrics, CounterKey, ReplicationTotals } from "./snapshot.js";
export { LAG_SATURATED_MICROS, U64_MAX } from "./u64.js";
