import { type Batch, type EventRejection, SerializationError } from "@netmesh/core/adapter";
import type { ResolvedSettings } from "./options.js";

/** The two keys and six arguments before the per-event triples: see append-script.ts. */
const HEADER = 8;

/** How a batch is cut and what every chunk's script call carries besides the events. */
export interface ChunkPlan {
  readonly stream: string;
  readonly mark: string;
  readonly settings: ResolvedSettings;
  /** The trim threshold of this batch (`MINID` moves with the clock), or "" without trimming. */
  readonly trimValue: string;
  /** The largest event stored, in UTF-8 bytes (the adapter's `maxEventBytes`). */
  readonly maxEventBytes: number;
}

/** One argument of a script call: a plain string, or an event's UTF-8 bytes. */
export type ScriptArgument = string | Buffer;

/** The script calls of a batch, and the events refused one by one (never sent). */
export interface ChunkedBatch {
  readonly calls: ScriptArgument[][];
  readonly rejected: EventRejection[];
}

function timestampText(batch: Batch, index: number): string {
  const timestamp = batch.timestamps[index]!;
  if (!Number.isFinite(timestamp)) {
    throw new SerializationError(
      `event ${index} of shard ${batch.shard} has timestamp ${timestamp}, not a finite number`,
    );
  }
  // String() of a double round-trips exactly through Number(), fractions included.
  return String(timestamp);
}

/** The batch's bytes as a Buffer (a view, no copy): ioredis sends Buffer arguments as they are. */
function bufferOf(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}

/**
 * The key and argument lists of the script calls that append `batch`, in order: chunks of at most
 * `maxEventsPerCall` events and `maxBytesPerCall` bytes of JSON (an event larger than that goes alone),
 * and the events refused one by one (too large, or text UTF-8 cannot carry: `bytes().replaced`), which
 * split the chunks. Every event adds three arguments: its timestamp and message id as strings and its
 * JSON as a view of the batch's bytes (`batch.bytes()`, free for the bus's batches), which ioredis
 * copies into the request as they are, so no text is decoded or encoded on the way; Redis hands them
 * to the script as ARGV with no decoding in Lua.
 */
export function buildChunks(batch: Batch, plan: ChunkPlan): ChunkedBatch {
  const { data, offsets, replaced } = batch.bytes();
  const bytes = bufferOf(data);
  const size = batch.size;
  const { maxEventsPerCall, maxBytesPerCall, dedupWindowMs, trim } = plan.settings;
  const ttl = String(dedupWindowMs);
  const strategy = trim?.strategy ?? "";
  const calls: ScriptArgument[][] = [];
  const rejected: EventRejection[] = [];
  let nextReplaced = 0;
  /** Why event `i` cannot be stored, or undefined. Calls come with `i` never decreasing. */
  const refusal = (i: number): EventRejection["reason"] | undefined => {
    while (nextReplaced < replaced.length && replaced[nextReplaced]! < i) nextReplaced++;
    // A lone surrogate would be stored as U+FFFD and read back different.
    if (replaced[nextReplaced] === i) return "invalidText";
    if (offsets[i + 1]! - offsets[i]! > plan.maxEventBytes) return "tooLarge";
    return undefined;
  };
  // The sequence the previous chunk of this batch ends at: a later chunk requires the mark to be there.
  let need = 0;
  let start = 0;
  while (start < size) {
    const reason = refusal(start);
    if (reason !== undefined) {
      rejected.push({
        index: start,
        reason,
        message: reason === "tooLarge" ? `over ${plan.maxEventBytes} bytes` : "lone UTF-16 surrogate",
      });
      start++;
      continue;
    }
    // The chunk ends before a refused event, after `maxEventsPerCall` events, or before the event that
    // would take it past `maxBytesPerCall` bytes (an event larger than that goes alone).
    let end = start + 1;
    const limit = Math.min(size, start + maxEventsPerCall);
    while (
      end < limit &&
      offsets[end + 1]! - offsets[start]! <= maxBytesPerCall &&
      refusal(end) === undefined
    ) {
      end++;
    }
    const count = end - start;
    const args = new Array<ScriptArgument>(HEADER + 3 * count);
    args[0] = plan.stream;
    args[1] = plan.mark;
    args[2] = String(batch.firstSequence + start);
    args[3] = String(count);
    // Chunks are sent back to back, and one that failed must not be overtaken by the next (the mark
    // would then skip over it): every chunk but the first needs the mark where its predecessor ends.
    args[4] = String(need);
    args[5] = ttl;
    args[6] = strategy;
    args[7] = plan.trimValue;
    let at = HEADER;
    for (let i = start; i < end; i++) {
      args[at++] = timestampText(batch, i);
      args[at++] = batch.messageId(i);
      args[at++] = bytes.subarray(offsets[i]!, offsets[i + 1]!);
    }
    calls.push(args);
    need = batch.firstSequence + end;
    start = end;
  }
  return { calls, rejected };
}
