/** 32-bit finaliser of MurmurHash3: spreads nearby inputs over the whole range. */
function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Delay before retry number `attempt + 1` of a shard's batch: `base × 2^attempt` capped at `max`, then
 * scaled by a jitter factor in [0.75, 1.25) derived deterministically from (shard, attempt), so that
 * shards failing together retry apart instead of in a storm. Never below 1 ms.
 */
export function retryDelayMs(shard: number, attempt: number, baseMs: number, maxMs: number): number {
  const exponential = Math.min(baseMs * 2 ** Math.min(attempt, 30), maxMs);
  const unit = mix32(Math.imul(shard + 1, 0x9e3779b1) ^ mix32(attempt + 0x632be5ab)) / 2 ** 32;
  return Math.max(1, exponential * (0.75 + 0.5 * unit));
}
