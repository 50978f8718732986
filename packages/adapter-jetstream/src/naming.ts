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

/**
 * Room reserved for the headers of one message when checking an event against the server's
 * `max_payload`: `NATS/1.0`, the message id (at most 39 characters), the timestamp (at most 24) and
 * their framing take under 100 bytes.
 */
export const HEADER_ALLOWANCE = 128;
