/**
 * `@netmesh/adapter-redis`: a `@netmesh` adapter on Redis Streams (via ioredis). One stream per shard,
 * one script call per chunk of a batch, exact dedup of retried batches by a per-producer high-water
 * mark kept in Redis. See the README for options, key layout, dedup window and error classification.
 * @module @netmesh/adapter-redis
 */
export { RedisAdapter } from "./redis-adapter.js";
export { DEFAULT_SETTINGS } from "./options.js";
export type {
  RedisAdapterOptions,
  RedisAdapterSettings,
  RedisConnectionOptions,
  ResolvedSettings,
} from "./options.js";
export { dedupKey, streamKey } from "./keys.js";
