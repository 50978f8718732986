/**
 * A pre-serialized event: its JSON text and its routing hash, computed once (see `EventBus.prepare`).
 * Ingesting a `RawEvent` skips serialization and hashing. The hash is trusted: events with the same
 * hash go to the same shard, so a hash taken from a partition key keeps that key's events in order.
 */
export interface RawEvent {
  /**
   * The event as JSON text; stored and read back byte for byte. It must be valid JSON in well-formed
   * UTF-16 (as `JSON.stringify` produces): the fast path does not check, and a lone surrogate cannot be
   * stored as UTF-8 by most backends.
   */
  readonly json: string;
  /** Routing hash, an unsigned 32-bit integer (see `RoutingHasher`). */
  readonly hash: number;
  /**
   * False when the hash was taken from the content rather than a partition key: with dynamic scaling
   * such an event may go to any shard (the least loaded). Default true: treated as keyed.
   */
  readonly keyed?: boolean;
}

/** Per-event ingest options. Reuse one object per key to keep the ingest path allocation-free. */
export interface IngestOptions {
  /**
   * Partition key: events with the same key always go to the same shard and keep their order
   * (a session id, an agent id, a conversation id). Without one, events are routed by a hash of their
   * JSON text.
   */
  readonly key?: string;
}

/** Options of the batch ingest calls. */
export interface IngestManyOptions {
  /** One key for every event, or a function giving each event's key (`undefined` for none). */
  readonly key?: string | ((value: unknown, index: number) => string | undefined);
}
