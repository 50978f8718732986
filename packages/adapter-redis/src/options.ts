import type { Cluster, Redis, RedisOptions } from "ioredis";
import { checkPrefix } from "./keys.js";

/**
 * Where the adapter's Redis is. Exactly one of:
 * - `url` (`redis://[user:password@]host:port[/db]` or `rediss://…`), optionally with `redisOptions`
 *   for everything a URL cannot say (TLS settings, retry strategy, …);
 * - `redisOptions` alone (host, port, password, …);
 * - `client`: an ioredis `Redis` or `Cluster` you created. The adapter uses it but does not own it:
 *   `shutdown()` leaves it connected, and its `error` events stay yours to handle.
 *
 * With `url` or `redisOptions` the adapter creates (and on `shutdown`, closes) its own `Redis` client.
 */
export type RedisConnectionOptions =
  | { readonly url: string; readonly redisOptions?: RedisOptions; readonly client?: never }
  | { readonly redisOptions: RedisOptions; readonly url?: never; readonly client?: never }
  | { readonly client: Redis | Cluster; readonly url?: never; readonly redisOptions?: never };

/** How the adapter stores and reads events; every field is optional. */
export interface RedisAdapterSettings {
  /**
   * Prepended to every key (see the README's key layout): streams are `{<prefix>:shard:<id>}`.
   * Must not contain `{`, `}` or control characters. Default `"netmesh"`.
   */
  readonly prefix?: string;
  /** Bound on each command (one batch's script calls, one poll's XRANGE), in ms. Default 5,000. */
  readonly commandTimeoutMs?: number;
  /** Bound on connecting during `init`, in ms. Default 5,000. */
  readonly connectTimeoutMs?: number;
  /** Bound on the PING of `isHealthy`, in ms. Default 1,000. */
  readonly healthCheckTimeoutMs?: number;
  /**
   * Keep about this many entries per shard stream: after each chunk the stream is trimmed with
   * `XTRIM MAXLEN ~` (approximate, so Redis trims whole radix-tree nodes cheaply). Default: no trim.
   * Mutually exclusive with `maxAgeMs`.
   */
  readonly maxLength?: number;
  /**
   * Drop entries older than this many ms (by their stream id, which is the server's clock at insert):
   * `XTRIM MINID ~ <now − maxAgeMs>` after each chunk, `now` taken from the client's clock (a window
   * reaching back before the epoch trims nothing). Default: no trim. Mutually exclusive with `maxLength`.
   */
  readonly maxAgeMs?: number;
  /**
   * How long a producer's dedup mark on a shard lives after that producer last wrote to the shard, in
   * ms, or `"forever"`. A retry arriving within this window is stored exactly once; memory is one small
   * key per (producer, shard), freed when it expires. Default 86,400,000 (24 h). See the README.
   */
  readonly dedupWindowMs?: number | "forever";
  /**
   * Most events sent in one script call: a batch is split into chunks of at most this many events (and
   * `maxBytesPerCall` bytes), sent back to back. Bounds how long one call keeps Redis busy. Default 1,000.
   */
  readonly maxEventsPerCall?: number;
  /** Most bytes of event JSON in one script call (one larger event still goes alone). Default 4 MiB. */
  readonly maxBytesPerCall?: number;
  /**
   * The largest event stored, in UTF-8 bytes of its JSON: larger ones are refused one by one (the bus
   * refuses them at ingest, as `"tooLarge"`). Lowered at `init` to the server's `proto-max-bulk-len`
   * when that is smaller (a larger argument makes Redis drop the connection). Default 64 MiB.
   */
  readonly maxEventBytes?: number;
  /**
   * Read pages with plain `XRANGE` over a connection of the adapter's own, whose replies the adapter
   * decodes itself (much cheaper than through ioredis, and cheaper for Redis than the read script).
   * Used where that connection can reach the server as the client does: not for a Cluster, Sentinel,
   * TLS, an ioredis `keyPrefix` or a custom `Connector`, which read with the read script. `false`
   * always uses the read script. Default `true`.
   */
  readonly directReads?: boolean;
}

/** Options of {@link RedisAdapter}: where Redis is, plus the settings. */
export type RedisAdapterOptions = RedisConnectionOptions & RedisAdapterSettings;

/** The settings after defaults and validation, as `RedisAdapter.settings` shows them. */
export interface ResolvedSettings {
  /** See {@link RedisAdapterSettings.prefix}. */
  readonly prefix: string;
  /** See {@link RedisAdapterSettings.commandTimeoutMs}. */
  readonly commandTimeoutMs: number;
  /** See {@link RedisAdapterSettings.connectTimeoutMs}. */
  readonly connectTimeoutMs: number;
  /** See {@link RedisAdapterSettings.healthCheckTimeoutMs}. */
  readonly healthCheckTimeoutMs: number;
  /** From `maxLength` (MAXLEN) or `maxAgeMs` (MINID); `undefined` without trimming. */
  readonly trim: { readonly strategy: "MAXLEN" | "MINID"; readonly value: number } | undefined;
  /** Mark expiry in ms; 0 for `"forever"`. */
  readonly dedupWindowMs: number;
  /** See {@link RedisAdapterSettings.maxEventsPerCall}. */
  readonly maxEventsPerCall: number;
  /** See {@link RedisAdapterSettings.maxBytesPerCall}. */
  readonly maxBytesPerCall: number;
  /** See {@link RedisAdapterSettings.maxEventBytes} (before the server's limit is applied). */
  readonly maxEventBytes: number;
  /** See {@link RedisAdapterSettings.directReads}. */
  readonly directReads: boolean;
}

/** Defaults of {@link RedisAdapterSettings}. */
export const DEFAULT_SETTINGS = Object.freeze({
  prefix: "netmesh",
  commandTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  healthCheckTimeoutMs: 1_000,
  dedupWindowMs: 86_400_000,
  maxEventsPerCall: 1_000,
  maxBytesPerCall: 4 * 1024 * 1024,
  maxEventBytes: 64 * 1024 * 1024,
  directReads: true,
});

/** setTimeout's limit: longer timers fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function positiveInteger(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new RangeError(
      `RedisAdapter option ${name} must be an integer in [1, ${max}], got ${String(value)}`,
    );
  }
  return value;
}

/** Applies defaults and checks every setting; throws `RangeError`/`TypeError` on a bad one. */
export function resolveSettings(settings: RedisAdapterSettings): ResolvedSettings {
  const prefix = checkPrefix(settings.prefix ?? DEFAULT_SETTINGS.prefix);
  const timeout = (name: "commandTimeoutMs" | "connectTimeoutMs" | "healthCheckTimeoutMs") =>
    positiveInteger(name, settings[name] ?? DEFAULT_SETTINGS[name], MAX_TIMER_MS);
  if (settings.maxLength !== undefined && settings.maxAgeMs !== undefined) {
    throw new TypeError("RedisAdapter options maxLength and maxAgeMs are mutually exclusive");
  }
  const trim =
    settings.maxLength !== undefined
      ? { strategy: "MAXLEN" as const, value: positiveInteger("maxLength", settings.maxLength) }
      : settings.maxAgeMs !== undefined
        ? { strategy: "MINID" as const, value: positiveInteger("maxAgeMs", settings.maxAgeMs) }
        : undefined;
  const window = settings.dedupWindowMs ?? DEFAULT_SETTINGS.dedupWindowMs;
  const dedupWindowMs = window === "forever" ? 0 : positiveInteger("dedupWindowMs", window);
  return {
    prefix,
    commandTimeoutMs: timeout("commandTimeoutMs"),
    connectTimeoutMs: timeout("connectTimeoutMs"),
    healthCheckTimeoutMs: timeout("healthCheckTimeoutMs"),
    trim,
    dedupWindowMs,
    maxEventsPerCall: positiveInteger(
      "maxEventsPerCall",
      settings.maxEventsPerCall ?? DEFAULT_SETTINGS.maxEventsPerCall,
      1_000_000,
    ),
    maxBytesPerCall: positiveInteger(
      "maxBytesPerCall",
      settings.maxBytesPerCall ?? DEFAULT_SETTINGS.maxBytesPerCall,
      256 * 1024 * 1024,
    ),
    maxEventBytes: positiveInteger(
      "maxEventBytes",
      settings.maxEventBytes ?? DEFAULT_SETTINGS.maxEventBytes,
      512 * 1024 * 1024,
    ),
    directReads: directReadsOf(settings.directReads),
  };
}

function directReadsOf(value: unknown): boolean {
  if (value === undefined) return DEFAULT_SETTINGS.directReads;
  if (typeof value !== "boolean") {
    throw new TypeError(`RedisAdapter option directReads must be a boolean, got ${String(value)}`);
  }
  return value;
}
