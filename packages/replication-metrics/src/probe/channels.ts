import { InvalidOptionsError } from "../errors.js";

/**
 * Which bus shards a probe reports on, one channel per shard stream: either the stream names, or the
 * adapter's prefix and shard ids from which the probe derives them.
 */
export interface ShardStreamOptions {
  /** The shard streams (channel names), as the adapter names them. Exclusive with `shards`. */
  readonly streams?: readonly string[];
  /** The adapter's prefix (default `"netmesh"`, both adapters' default); used with `shards`. */
  readonly prefix?: string;
  /** Shard ids: a count `n` (shards 0…n−1, the bus's fixed layout) or a list of ids. */
  readonly shards?: number | readonly number[];
}

const MAX_SHARD = 0xffff;

function shardIds(shards: number | readonly number[]): number[] {
  const ids =
    typeof shards === "number"
      ? Number.isInteger(shards) && shards >= 1 && shards <= MAX_SHARD + 1
        ? Array.from({ length: shards }, (_, i) => i)
        : undefined
      : [...shards];
  if (
    ids === undefined ||
    ids.length === 0 ||
    !ids.every((id) => Number.isInteger(id) && id >= 0 && id <= MAX_SHARD)
  ) {
    throw new InvalidOptionsError(
      `shards must be a count in [1, ${MAX_SHARD + 1}] or a non-empty list of ids in [0, ${MAX_SHARD}]`,
    );
  }
  return [...new Set(ids)];
}

function checkedPrefix(prefix: string | undefined): string {
  const value = prefix ?? "netmesh";
  if (typeof value !== "string" || value.length === 0)
    throw new InvalidOptionsError("prefix must be a non-empty string");
  return value;
}

/**
 * The Redis adapter's shard streams: `{<prefix>:shard:<id>}` (the braces are its cluster hash tag).
 * Derived here rather than imported, so this package does not depend on the adapter.
 */
export function redisShardStreams(prefix: string | undefined, shards: number | readonly number[]): string[] {
  const checked = checkedPrefix(prefix);
  return shardIds(shards).map((id) => `{${checked}:shard:${id}}`);
}

/** The JetStream adapter's shard streams: `<prefix>_shard_<id>`. */
export function jetStreamShardStreams(
  prefix: string | undefined,
  shards: number | readonly number[],
): string[] {
  const checked = checkedPrefix(prefix);
  return shardIds(shards).map((id) => `${checked}_shard_${id}`);
}

/** The stream names a probe's options ask for, validated; `derive` builds them from prefix and shards. */
export function resolveStreams(
  options: ShardStreamOptions,
  derive: (prefix: string | undefined, shards: number | readonly number[]) => string[],
): string[] {
  const { streams, shards, prefix } = options;
  if ((streams === undefined) === (shards === undefined)) {
    throw new InvalidOptionsError("give exactly one of streams and shards (with an optional prefix)");
  }
  if (streams !== undefined) {
    if (prefix !== undefined) throw new InvalidOptionsError("prefix goes with shards, not with streams");
    if (
      !Array.isArray(streams) ||
      streams.length === 0 ||
      !streams.every((s) => typeof s === "string" && s !== "")
    ) {
      throw new InvalidOptionsError("streams must be a non-empty list of non-empty names");
    }
    return [...new Set(streams)];
  }
  return derive(prefix, shards!);
}
