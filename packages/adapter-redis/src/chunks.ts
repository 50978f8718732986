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

/** The script calls of a batch, and the events refused one by one (never sent). */
export interface ChunkedBatch {
  readonly calls: string[][];
  readonly rejected: EventRejection[];
}

/**
 * Why an event cannot be stored, or undefined. The 3-bytes-per-unit bound keeps the byte count off
 * the hot path for ordinary events; `isWellFormed` is a native scan.
 */
function refusal(text: string, maxEventBytes: number): EventRejection["reason"] | undefined {
  if (text.length * 3 > maxEventBytes && Buffer.byteLength(text, "utf8") > maxEventBytes) return "tooLarge";
  // A lone surrogate would be stored as U+FFFD and read back different.
  if (!text.isWellFormed()) return "invalidText";
  return undefined;
}

/**
 * Where the chunk starting at `start` ends: after `maxEvents` events, before `stop` (a refused event),
 * or before the event that would take it past `maxBytes` UTF-8 bytes (but never empty). Counting bytes
 * costs a scan of every text, so first the cheap bound of 3 bytes per UTF-16 unit is tried: when a full
 * chunk fits under it, as with ordinary events and the default 4 MiB, no text is scanned.
 */
function chunkEnd(
  events: readonly string[],
  start: number,
  stop: number,
  maxEvents: number,
  maxBytes: number,
): number {
  const last = Math.min(stop, start + maxEvents);
  let units = 0;
  for (let i = start; i < last; i++) units += events[i]!.length;
  if (units * 3 <= maxBytes) return last;
  let bytes = 0;
  for (let end = start; end < last; end++) {
    bytes += Buffer.byteLength(events[end]!, "utf8");
    if (end > start && bytes > maxBytes) return end;
  }
  return last;
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

/**
 * The key and argument lists of the script calls that append `batch`, in order: chunks of at most
 * `maxEventsPerCall` events and `maxBytesPerCall` bytes of JSON (an event larger than that goes alone),
 * and the events refused one by one (too large, or text UTF-8 cannot carry), which split the chunks.
 * Every event adds three plain strings (timestamp, message id, JSON): ioredis writes string arguments
 * straight into one request string, and Redis hands them to the script as ARGV with no decoding in Lua,
 * which measured faster than one packed buffer split by `struct.unpack` in the script.
 */
export function buildChunks(batch: Batch, plan: ChunkPlan): ChunkedBatch {
  const { events } = batch;
  const { maxEventsPerCall, maxBytesPerCall, dedupWindowMs, trim } = plan.settings;
  const ttl = String(dedupWindowMs);
  const strategy = trim?.strategy ?? "";
  const calls: string[][] = [];
  const rejected: EventRejection[] = [];
  // The sequence the previous chunk of this batch ends at: a later chunk requires the mark to be there.
  let need = 0;
  let start = 0;
  while (start < events.length) {
    const reason = refusal(events[start]!, plan.maxEventBytes);
    if (reason !== undefined) {
      rejected.push({
        index: start,
        reason,
        message: reason === "tooLarge" ? `over ${plan.maxEventBytes} bytes` : "lone UTF-16 surrogate",
      });
      start++;
      continue;
    }
    let stop = start + 1;
    const limit = Math.min(events.length, start + maxEventsPerCall);
    while (stop < limit && refusal(events[stop]!, plan.maxEventBytes) === undefined) stop++;
    const end = chunkEnd(events, start, stop, maxEventsPerCall, maxBytesPerCall);
    const count = end - start;
    const args = new Array<string>(HEADER + 3 * count);
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
      args[at++] = events[i]!;
    }
    calls.push(args);
    need = batch.firstSequence + end;
    start = end;
  }
  return { calls, rejected };
}
