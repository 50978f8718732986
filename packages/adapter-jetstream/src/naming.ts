import { MAX_SHARD_ID } from "@netmesh/core/adapter";

/** The stream of one shard: `{prefix}_shard_{shard}`. */
export function streamName(prefix: string, shard: number): string {
  return `${prefix}_shard_${shard}`;
}

/** The single subject of one shard's stream: `{prefix}.shard.{shard}`. */
export function shardSubject(prefix: string, shard: number): string {
  return `${prefix}.shard.${shard}`;
}

/** Subject filter matching the subjects of every shard under `prefix`. */
export function allShardsFilter(prefix: string): string {
  return `${prefix}.shard.*`;
}

/** Header keeping the event's insertion timestamp (µs since the epoch, decimal). */
export const TIMESTAMP_HEADER = "Netmesh-Ts";
/** JetStream's dedup header; it also keeps the event's message id for reads. */
export const MSG_ID_HEADER = "Nats-Msg-Id";
/** Direct-get reply header carrying the stream sequence, as decimal digits. */
export const SEQUENCE_HEADER = "Nats-Sequence";

/** The stream name of a shard parsed back: the id, when `name` is `{prefix}_shard_{id}` with a valid id. */
export function shardOfStream(prefix: string, name: string): number | undefined {
  if (!name.startsWith(`${prefix}_shard_`)) return undefined;
  const digits = name.slice(prefix.length + 7);
  if (!/^(0|[1-9]\d{0,4})$/.test(digits)) return undefined;
  const shard = Number(digits);
  return shard <= MAX_SHARD_ID ? shard : undefined;
}
