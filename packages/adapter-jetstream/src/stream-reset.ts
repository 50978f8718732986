import { FatalError, type Logger } from "@netmesh/core/adapter";

/** What a {@link StreamResetError} found: the stream, and the cursor beyond its last sequence. */
export interface StreamReset {
  readonly stream: string;
  readonly shard: number;
  /** The read's cursor (`afterId`), in the server's digits. */
  readonly cursor: string;
  /** The stream's last sequence when the read asked, below the cursor. */
  readonly lastSequence: string;
}

/**
 * A read's cursor is beyond the last sequence of the shard's stream. A stream's sequences only grow
 * (discarded and purged messages keep `last_seq`), so the cursor comes from an earlier life of the
 * stream: it was deleted and created again, and its sequences restarted at 1. Reading on after that
 * cursor would skip the new stream's events up to it, so the read fails instead (`pollShard` rejects,
 * a `readShard` iteration throws), naming the reset. Not retryable: read the shard again from the
 * start (`afterId` undefined), or from a cursor of the new stream.
 *
 * `kind` is `"fatal"` (code `ADAPTER_FATAL`); tell it apart by `reason`, which is always
 * `"streamReset"`, or by `name`.
 */
export class StreamResetError extends FatalError {
  /** Always `"streamReset"`: a stable mark of this failure, across copies of the package too. */
  readonly reason = "streamReset" as const;
  /** The shard's stream, e.g. `netmesh_shard_3`. */
  readonly stream: string;
  readonly shard: number;
  /** The cursor the read was given. */
  readonly cursor: string;
  /** The stream's last sequence when the read asked. */
  readonly lastSequence: string;

  constructor(message: string, options?: { cause?: unknown; notStored?: boolean; reset?: StreamReset }) {
    super(message, options);
    this.stream = options?.reset?.stream ?? "";
    this.shard = options?.reset?.shard ?? -1;
    this.cursor = options?.reset?.cursor ?? "";
    this.lastSequence = options?.reset?.lastSequence ?? "";
  }
}

/**
 * The error for a read after `cursor` on a stream whose last sequence is `last` (below it), after
 * logging the reset as a warning.
 */
export function streamReset(
  logger: Logger,
  reset: Omit<StreamReset, "cursor" | "lastSequence">,
  cursor: bigint,
  last: bigint,
): StreamResetError {
  const details: StreamReset = { ...reset, cursor: cursor.toString(), lastSequence: last.toString() };
  logger.warn(
    { adapter: "jetstream", ...details },
    "the cursor is beyond the stream's last sequence: the stream was deleted and created again",
  );
  return new StreamResetError(
    `stream ${reset.stream} (shard ${reset.shard}) ends at sequence ${details.lastSequence}, before the cursor ${details.cursor}: it was deleted and created again (its sequences restarted at 1), so reading on would skip its events up to the cursor; read the shard again from the start (afterId undefined)`,
    { reset: details },
  );
}

/** The stream's `last_seq` in the text of a `STREAM.INFO` reply, exactly (a JSON parse rounds above 2^53). */
export function lastSequenceIn(text: string): bigint | undefined {
  const match = /"last_seq":\s*(\d+)/.exec(text);
  return match === null ? undefined : BigInt(match[1]!);
}

/**
 * The stream sequence a new consumer's info says it has delivered up to, exactly. The server starts a
 * consumer whose `opt_start_seq` is beyond the stream's end at the end (`last_seq + 1`), so for such a
 * consumer this is the stream's last sequence: below the cursor it was created after, a reset.
 */
export function deliveredSequenceIn(text: string): bigint | undefined {
  const match = /"delivered":\s*\{\s*"consumer_seq":\s*\d+\s*,\s*"stream_seq":\s*(\d+)/.exec(text);
  return match === null ? undefined : BigInt(match[1]!);
}
