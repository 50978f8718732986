import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type _Record as KinesisRecord,
} from "@aws-sdk/client-kinesis";
import { type Logger, type StoredEvent, formatMessageId } from "@netmesh/core/adapter";
import { causeCode } from "./classify.js";
import type { Client } from "./client.js";
import { DedupState } from "./dedup.js";
import type { Lineage, Link } from "./lineage.js";
import { decodeRecord, partitionKeyOf } from "./record-format.js";

/** Where reading a Kinesis shard starts when nothing of it was read yet. */
export type StartPosition =
  | { readonly type: "TRIM_HORIZON" }
  | { readonly type: "AT_TIMESTAMP"; readonly at: Date }
  | { readonly type: "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER"; readonly sequence: string };

/** What a log needs from the adapter. */
export interface LogContext {
  readonly client: Client;
  readonly streamName: string;
  readonly lineage: Lineage;
  readonly logger: Logger;
  readonly dedupWindowMs: number;
  /** Aborted at shutdown. */
  readonly signal: AbortSignal;
  /** The Kinesis shard the writer last stored `busShard` in, if it wrote it (a reshard hint). */
  writtenTo(busShard: number): string | undefined;
  /** Counts what the reader skipped. */
  readonly counters: ReadCounters;
}

/** What readers examined and skipped, for tests and dashboards. */
export interface ReadCounters {
  /** `GetRecords` calls. */
  fetches: number;
  /** Copies dropped because their sequence was already delivered (retries read once). */
  duplicates: number;
  /** Records dropped because their predecessor in their call was not stored (partial failures). */
  orphans: number;
  /** Records that are not in this adapter's format (skipped with a warning). */
  corrupt: number;
  /** Readers that started from a cursor without a cached log and scanned the dedup window first. */
  coldStarts: number;
}

/** The first record at `position` of `link`, or undefined when there is none (a bounded probe). */
export async function firstRecord(
  context: LogContext,
  link: Link,
  position: StartPosition,
): Promise<KinesisRecord | undefined> {
  let iterator: string | undefined = await acquire(context, link, position);
  // Kinesis may answer empty pages before a sparse shard's first record: follow them a little.
  for (let call = 0; call < 3 && iterator !== undefined; call++) {
    const output: GetRecordsCommandOutput = await getRecords(context, iterator, 1);
    const record = output.Records?.[0];
    if (record !== undefined) return record;
    if ((output.MillisBehindLatest ?? 0) === 0) return undefined;
    iterator = output.NextShardIterator;
  }
  return undefined;
}

async function acquire(
  context: LogContext,
  link: Link,
  position: StartPosition,
): Promise<string | undefined> {
  const input = {
    StreamName: context.streamName,
    ShardId: link.shardId,
    ShardIteratorType: position.type,
    ...(position.type === "AT_TIMESTAMP" && { Timestamp: position.at }),
    ...((position.type === "AT_SEQUENCE_NUMBER" || position.type === "AFTER_SEQUENCE_NUMBER") && {
      StartingSequenceNumber: position.sequence,
    }),
  };
  const what = `GetShardIterator ${position.type} of ${link.shardId} in stream "${context.streamName}"`;
  const output = await context.client.call(what, context.signal, (sdk, options) =>
    sdk.send(new GetShardIteratorCommand(input), options),
  );
  return output.ShardIterator;
}

function getRecords(context: LogContext, iterator: string, limit: number): Promise<GetRecordsCommandOutput> {
  context.counters.fetches++;
  return context.client.call(
    `GetRecords from stream "${context.streamName}"`,
    context.signal,
    (sdk, options) => sdk.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }), options),
  );
}

/**
 * A bus shard's events as decided so far, for one contiguous stretch of its lineage: every event
 * delivered (dedup applied) strictly after {@link ShardLog.startAfter} up to the last record examined
 * ({@link ShardLog.frontierId}), and the frontier from which it grows (an iterator, the dedup state).
 * Kinesis never changes what it stored, so any reader whose cursor lies in the stretch is served from
 * here, and only the frontier costs calls.
 */
export class ShardLog {
  /** Delivered events, in stream order. */
  readonly events: StoredEvent[] = [];
  /** The last record examined after {@link ShardLog.startAfter} (our record or not). */
  frontierId: string | undefined;
  /** Approximate memory held by {@link ShardLog.events}, bytes. */
  bytes = 0;
  /** When this log last served a page (for eviction). */
  lastUsed = Date.now();
  /**
   * The last record in another format examined after {@link ShardLog.startAfter}: a page with no event
   * after it still moves the cursor past it (contract `ShardPage.nextId`), so no reader examines it again.
   */
  lastCorruptId: string | undefined;
  /** The last fetch reached the end of the open shard. */
  caughtUp = false;
  private readonly partitionKey: string;
  private readonly dedup: DedupState;
  private iterator: string | undefined;
  private lastSequence: string | undefined;
  /** The open shard was read to its end but its child is not listed yet. */
  private drained = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly context: LogContext,
    /** The bus shard. */
    readonly shard: number,
    private chain: Link[],
    private link: number,
    private start: StartPosition,
    /** The log holds the events after this id; `undefined`: from the start of the lineage. */
    public startAfter: string | undefined,
    /** Records up to here (link index, sequence) only build dedup state: a cold start's look-back. */
    private lookback: { readonly link: number; readonly sequence: bigint } | undefined,
  ) {
    this.partitionKey = partitionKeyOf(shard);
    this.dedup = new DedupState(context.dedupWindowMs);
    this.frontierId = startAfter;
  }

  /** True while a cold start is still scanning history before its cursor. */
  get inLookback(): boolean {
    return this.lookback !== undefined;
  }

  /** Runs `work` after every earlier operation on this log (one frontier, one fetch at a time). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Fetches the next records (at most `limit`) from the frontier and decides each. */
  async fetch(limit: number): Promise<void> {
    if (this.drained && !(await this.advance())) {
      this.caughtUp = true;
      return;
    }
    const link = this.chain[this.link];
    if (link === undefined) {
      // No shard holds the key (the stream has none listed): there is nothing to read.
      this.caughtUp = true;
      return;
    }
    const output = await this.getRecords(link, limit);
    const records = output.Records ?? [];
    for (const record of records) this.examine(record);
    this.iterator = output.NextShardIterator;
    if (this.iterator === undefined) {
      // A closed shard read to its end: its child (holding the same hash key) comes next.
      this.caughtUp = false;
      if (!(await this.advance())) this.caughtUp = true;
      return;
    }
    const atTail = this.link === this.chain.length - 1 && link.end === undefined;
    this.caughtUp =
      atTail && records.length < limit && (output.MillisBehindLatest ?? 0) === 0 && !(await this.tailMoved());
  }

  private async getRecords(link: Link, limit: number): Promise<GetRecordsCommandOutput> {
    this.iterator ??= await acquire(this.context, link, this.resumePosition());
    if (this.iterator === undefined) return {} as GetRecordsCommandOutput;
    try {
      return await getRecords(this.context, this.iterator, limit);
    } catch (error) {
      // Iterators live 5 minutes: an idle reader's has expired. Resume after the last record read.
      if (causeCode(error) !== "ExpiredIteratorException") throw error;
      this.iterator = await acquire(this.context, link, this.resumePosition());
      if (this.iterator === undefined) return {} as GetRecordsCommandOutput;
      return getRecords(this.context, this.iterator, limit);
    }
  }

  private resumePosition(): StartPosition {
    return this.lastSequence === undefined
      ? this.start
      : { type: "AFTER_SEQUENCE_NUMBER", sequence: this.lastSequence };
  }

  /** Moves to the next shard of the lineage (listing it again if needed); false when there is none yet. */
  private async advance(): Promise<boolean> {
    if (this.link + 1 >= this.chain.length) await this.extendChain();
    if (this.link + 1 >= this.chain.length) {
      this.drained = true;
      return false;
    }
    this.link++;
    this.drained = false;
    this.iterator = undefined;
    this.lastSequence = undefined;
    this.start = { type: "TRIM_HORIZON" };
    return true;
  }

  /**
   * The writer stored this bus shard in a Kinesis shard the chain does not know: the stream was
   * resharded since it was listed. Lists it again, so the frontier's shard shows as closed and reading
   * goes on into its child instead of reporting the end.
   */
  private async tailMoved(): Promise<boolean> {
    const written = this.context.writtenTo(this.shard);
    if (written === undefined || this.chain.some((link) => link.shardId === written)) return false;
    await this.extendChain();
    return true;
  }

  /** Lists the lineage again; keeps the known prefix (so indices stay valid) and takes what follows. */
  private async extendChain(): Promise<void> {
    const fresh = await this.context.lineage.chainFor(this.shard, true, this.context.signal);
    const current = this.chain[this.link]!;
    const at = fresh.findIndex((link) => link.shardId === current.shardId);
    if (at === -1) return;
    this.chain = [...this.chain.slice(0, this.link), ...fresh.slice(at)];
  }

  private examine(record: KinesisRecord): void {
    const sequence = record.SequenceNumber ?? "";
    this.lastSequence = sequence;
    const lookback = this.lookback;
    const emit =
      lookback === undefined ||
      this.link > lookback.link ||
      (this.link === lookback.link && BigInt(sequence) > lookback.sequence);
    if (emit) {
      this.lookback = undefined;
      this.frontierId = sequence;
    }
    // Another bus shard sharing this Kinesis shard: not ours, not a problem.
    if (record.PartitionKey !== this.partitionKey) return;
    const decoded = decodeRecord(record.Data ?? new Uint8Array(0));
    if (!decoded.ok) {
      if (emit) {
        this.lastCorruptId = sequence;
        this.context.counters.corrupt++;
        this.context.logger.warn(
          { adapter: "kinesis", shard: this.shard, id: sequence, reason: decoded.reason },
          "kinesis: skipping a record that is not a netmesh event",
        );
      }
      return;
    }
    const event = decoded.record;
    const arrival = record.ApproximateArrivalTimestamp?.getTime() ?? Date.now();
    const verdict = this.dedup.decide(event.producer, event.sequence, event.request, event.index, arrival);
    if (!emit) return;
    if (verdict === "duplicate") this.context.counters.duplicates++;
    else if (verdict === "orphan") this.context.counters.orphans++;
    else {
      this.events.push({
        id: sequence,
        shard: this.shard,
        timestamp: event.timestamp,
        json: event.json,
        messageId: formatMessageId(event.producer, this.shard, event.sequence),
      });
      this.bytes += 2 * event.json.length + 200;
    }
  }

  /** Drops the first `count` events (memory pressure); the log then starts after the last dropped one. */
  dropFirst(count: number): void {
    if (count <= 0) return;
    const dropped = this.events.splice(0, count);
    for (const event of dropped) this.bytes -= 2 * event.json.length + 200;
    this.startAfter = dropped.at(-1)!.id;
  }
}
