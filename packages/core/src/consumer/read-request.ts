import { MAX_SHARD_ID } from "../contract/adapter-base.js";
import { InvalidPollRequestError, describeValue } from "../errors.js";

/** `"none"`: shard by shard, each in its stored order. `"insertion"`: by insertion timestamp, ties by (shard, id). */
export type PollOrder = "none" | "insertion";

/** Largest `limit` of one poll (and `pageSize` of a subscription). */
export const MAX_POLL_LIMIT = 100_000;

/**
 * The checks shared by `poll` and `subscribe`, so that both refuse the same values with the same
 * {@link InvalidPollRequestError}: a subscription checks them when it is created, since a streaming
 * follower handed a bad value would only see its reads fail, and retry them for ever.
 */

/** A page size: an integer in [1, {@link MAX_POLL_LIMIT}]. */
export function checkPageSize(field: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_POLL_LIMIT) {
    throw new InvalidPollRequestError(
      field,
      `must be an integer in [1, ${MAX_POLL_LIMIT}], got ${describeValue(value)}`,
    );
  }
  return value as number;
}

/** An order; `undefined` is `"none"`. */
export function checkOrder(value: unknown): PollOrder {
  if (value === undefined) return "none";
  if (value !== "none" && value !== "insertion") {
    throw new InvalidPollRequestError("order", "must be none or insertion");
  }
  return value;
}

/** Shard ids, deduplicated and ascending; `undefined` stays undefined (every live shard). */
export function checkShardIds(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new InvalidPollRequestError("shards", "must be an array of shard ids");
  for (const shard of value as unknown[]) {
    if (!Number.isInteger(shard) || (shard as number) < 0 || (shard as number) > MAX_SHARD_ID) {
      throw new InvalidPollRequestError("shards", `contains an invalid shard id ${describeValue(shard)}`);
    }
  }
  return [...new Set(value as number[])].sort((a, b) => a - b);
}
