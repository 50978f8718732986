import xxhash from "xxhash-wasm";
import { xxh32Ascii } from "./xxh32-ascii.js";

/**
 * Seed of the routing hash. Part of the public, stable routing definition: changing it would move
 * every key to another shard, so it never changes.
 */
export const ROUTING_HASH_SEED = 0;

/**
 * The routing hash: XXH32 of the UTF-8 bytes of a text with seed {@link ROUTING_HASH_SEED}, an unsigned
 * 32-bit integer. The same in every process and release, so any producer (in any language with an
 * XXH32 implementation) routes a partition key to the same shard.
 */
export interface RoutingHasher {
  /** Hashes a partition key, or an event's JSON text when it has no key. */
  hash(text: string): number;
}

/** Below 16 chars (no full XXH32 stripe) the pure-JS hash of ASCII text beats the wasm one (~30 vs ~75 ns). */
const JS_HASH_MAX_LENGTH = 15;

let loading: Promise<RoutingHasher> | undefined;

/** Loads the WebAssembly hasher once per process and returns the routing hasher. */
export function loadRoutingHasher(): Promise<RoutingHasher> {
  loading ??= xxhash().then(({ h32 }) => ({
    hash(text: string): number {
      if (text.length <= JS_HASH_MAX_LENGTH) {
        const hash = xxh32Ascii(text, ROUTING_HASH_SEED);
        if (hash >= 0) return hash;
      }
      return h32(text, ROUTING_HASH_SEED);
    },
  }));
  return loading;
}
