/**
 * Key layout. A shard's stream is `{<prefix>:shard:<id>}` and a producer's dedup mark on that shard is
 * `{<prefix>:shard:<id>}:dedup:<producer>`. The braces are a Redis Cluster hash tag around the whole
 * stream name, so both keys hash to one slot (a script may only touch keys of one slot) while different
 * shards, and the same shard id under different prefixes, spread over the cluster.
 */

const MAX_PREFIX_LENGTH = 200;
/** Braces would move the hash tag; control characters make keys unreadable in tooling. */
function hasForbidden(prefix: string): boolean {
  for (let i = 0; i < prefix.length; i++) {
    const code = prefix.charCodeAt(i);
    if (code === 0x7b || code === 0x7d || code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Checks a key prefix; returns it or throws a `TypeError` saying what is wrong. */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== "string" || prefix.length === 0 || prefix.length > MAX_PREFIX_LENGTH) {
    throw new TypeError(`RedisAdapter prefix must be a string of 1 to ${MAX_PREFIX_LENGTH} characters`);
  }
  if (hasForbidden(prefix)) {
    throw new TypeError(
      `RedisAdapter prefix ${JSON.stringify(prefix)} must not contain "{", "}" or control characters ` +
        "(braces would change the cluster hash tag)",
    );
  }
  return prefix;
}

/** The stream key of `shard` under `prefix`: `{<prefix>:shard:<shard>}`. */
export function streamKey(prefix: string, shard: number): string {
  return `{${checkPrefix(prefix)}:shard:${shard}}`;
}

/** The dedup mark key of `producer` on `shard` under `prefix`: `{<prefix>:shard:<shard>}:dedup:<producer>`. */
export function dedupKey(prefix: string, shard: number, producer: string): string {
  return `${streamKey(prefix, shard)}:dedup:${producer}`;
}

/** The keys of one shard, built once per shard id. */
export interface ShardKeys {
  readonly stream: string;
  /** The mark key without the producer: append the producer nonce. */
  readonly dedupPrefix: string;
}

/**
 * Caches each shard's keys in a map keyed by shard id, so sparse ids (0, 4096, 65534) cost one entry
 * each, not an array up to the largest id, and the hot path builds no key strings.
 */
export class KeyCache {
  private readonly shards = new Map<number, ShardKeys>();

  constructor(private readonly prefix: string) {}

  /** The keys of `shard`. */
  of(shard: number): ShardKeys {
    let keys = this.shards.get(shard);
    if (keys === undefined) {
      const stream = `{${this.prefix}:shard:${shard}}`;
      keys = { stream, dedupPrefix: `${stream}:dedup:` };
      this.shards.set(shard, keys);
    }
    return keys;
  }
}
