import { randomInt } from "node:crypto";
import { PutRecordsCommand, type PutRecordsRequestEntry } from "@aws-sdk/client-kinesis";
import {
  AdapterShutdownError,
  BackendBackpressureError,
  type Batch,
  type BatchBytes,
  type BatchResult,
  type EventRejection,
  TransientError,
} from "@netmesh/core/adapter";
import { causeCode, classifyKind, mayHaveStored } from "./classify.js";
import type { Client } from "./client.js";
import type { HashKeys } from "./hash-keys.js";
import { HEADER_BYTES, PARTITION_KEY_BYTES, partitionKeyOf, writeHeader } from "./record-format.js";
import { sleep } from "./sleep.js";

/** Kinesis's limits of one `PutRecords` call. */
export const MAX_RECORDS_PER_REQUEST = 500;
/** Bytes of data plus partition keys in one call (a single larger record, on a raised limit, goes alone). */
export const MAX_REQUEST_BYTES = 5 * 1_048_576;

/** What the writer needs from the adapter. */
export interface WriterContext {
  readonly client: Client;
  readonly streamName: string;
  readonly hashKeys: HashKeys;
  /** Resends of a partially failed call without progress before giving up. */
  readonly partialFailureRetries: number;
  /** The largest event stored (the stream's record limit less the record overhead). */
  readonly maxEventBytes: number;
  /** Where to count what the writer does. */
  readonly counters: WriteCounters;
  /** Aborted at shutdown: ends every write under way. */
  readonly stopped: AbortSignal;
  /** Tells the reader which Kinesis shard now holds `busShard`'s newest records (a reshard hint). */
  wroteTo(busShard: number, kinesisShardId: string): void;
}

/** Counters of what the writer did, for tests and dashboards. */
export interface WriteCounters {
  /** `PutRecords` calls that got an answer. */
  requests: number;
  /** Records Kinesis reported stored. */
  records: number;
  /** Answered calls in which some records failed (throttled, failed internally, a KMS error). */
  partialFailures: number;
}

/**
 * Writes batches with `PutRecords`: at most 500 records and 5 MiB per call, every record of a bus
 * shard with that shard's `ExplicitHashKey`. Calls of one batch go one after another, each only once
 * the previous one is stored, because a record's validity (see the README's dedup section) rests on
 * the records before it in the same call.
 *
 * **Partial failures.** Kinesis processes each record of a call on its own: record `f` may fail
 * (throttled, internal failure) while `f + 1` is stored. So the writer resends from the first failed
 * record on, in order, in a new call (a new request id), after a short back-off; the records after `f`
 * that the first call stored are orphans that readers drop (their predecessor in their call is
 * missing), and the resend stores them again in order. Progress is remembered per batch object, so a
 * retry of the same batch by the bus resumes after what was confirmed. After `partialFailureRetries`
 * resends without progress the call rejects with `BackendBackpressureError` and the bus backs off.
 */
export class Writer {
  private readonly progress = new WeakMap<Batch, number>();
  private nextRequest = randomInt(2 ** 32);

  constructor(private readonly context: WriterContext) {}

  /** Stores `batch` (contract rules 1–5), or reports its unstorable events; see the class notes. */
  async write(batch: Batch, attempt: AbortSignal): Promise<BatchResult | void> {
    if (batch.size === 0) return;
    // The attempt ends when the bus aborts it or the adapter shuts down: a write backing off between
    // resends must not outlive the adapter, nor send on its destroyed client.
    const { stopped } = this.context;
    const controller = new AbortController();
    const abort = () => controller.abort(attempt.aborted ? attempt.reason : stopped.reason);
    attempt.addEventListener("abort", abort);
    stopped.addEventListener("abort", abort);
    if (attempt.aborted || stopped.aborted) abort();
    try {
      return await this.send(batch, controller.signal);
    } catch (caught) {
      const error =
        stopped.aborted && !attempt.aborted
          ? new AdapterShutdownError(
              `kinesis PutRecords of bus shard ${batch.shard}: the adapter was shut down during the write`,
            )
          : caught;
      // Records of the batch confirmed stored (in this attempt or an earlier one) are readable.
      throw (this.progress.get(batch) ?? 0) > 0 ? mayHaveStored(error) : error;
    } finally {
      attempt.removeEventListener("abort", abort);
      stopped.removeEventListener("abort", abort);
    }
  }

  private async send(batch: Batch, signal: AbortSignal): Promise<BatchResult | void> {
    const bytes = batch.bytes();
    const { sendable, rejected } = this.screen(batch, bytes);
    const producer = Buffer.from(batch.producer, "hex");
    const what = `PutRecords of bus shard ${batch.shard} to stream "${this.context.streamName}"`;
    let next = this.progress.get(batch) ?? 0;
    let stalls = 0;
    while (next < sendable.length) {
      if (signal.aborted) throw new TransientError(`kinesis ${what}: aborted`, { cause: signal.reason });
      const entries = this.chunk(batch, bytes, producer, sendable, next);
      const input = { StreamName: this.context.streamName, Records: entries };
      const output = await this.context.client.call(what, signal, (sdk, options) =>
        sdk.send(new PutRecordsCommand(input), options),
      );
      this.context.counters.requests++;
      const results = output.Records ?? [];
      if (results.length !== entries.length) {
        throw new TransientError(`kinesis ${what}: ${results.length} results for ${entries.length} records`);
      }
      // A record is stored when the reply gives it a sequence number and no error, whatever
      // FailedRecordCount says: a count that contradicts the records must not lose the failed ones.
      const failed = results.findIndex((r) => r.ErrorCode !== undefined || r.SequenceNumber === undefined);
      const stored = failed === -1 ? results.length : failed;
      this.context.counters.records += results.filter(
        (r) => r.ErrorCode === undefined && r.SequenceNumber !== undefined,
      ).length;
      const lastShard = stored > 0 ? results[stored - 1]!.ShardId : undefined;
      if (lastShard !== undefined) this.context.wroteTo(batch.shard, lastShard);
      next += stored;
      this.progress.set(batch, next);
      if (failed === -1) {
        stalls = 0;
        continue;
      }
      this.context.counters.partialFailures++;
      const result = results[failed]!;
      const failure = {
        name: result.ErrorCode ?? "MissingSequenceNumber",
        message: result.ErrorMessage ?? "the reply gave the record neither a sequence number nor an error",
      };
      const where = `${what}, record ${failed} of ${results.length}`;
      // Classified and scrubbed like a failed call: the record's message is the service's text.
      if (classifyKind(failure) === "fatal") throw this.context.client.failure(failure, where);
      stalls = stored > 0 ? 0 : stalls + 1;
      if (stalls > this.context.partialFailureRetries) {
        const { cause } = this.context.client.failure(failure, where);
        throw new BackendBackpressureError(
          `kinesis ${where} failed with ${causeCode(cause)}, ${stalls} calls in a row without progress (throttled: retry with back-off)`,
          { cause },
        );
      }
      // Exponential back-off with jitter: 25 ms, 50 ms, … up to 1 s.
      await sleep(Math.min(1_000, 25 * 2 ** stalls) * (0.5 + Math.random()), signal);
    }
    if (rejected.length > 0) return { rejected };
  }

  /** Splits the batch into the events to send and those refused on their own (contract rule 2). */
  private screen(batch: Batch, bytes: BatchBytes): { sendable: Uint32Array; rejected: EventRejection[] } {
    const max = this.context.maxEventBytes;
    const sendable = new Uint32Array(batch.size);
    const rejected: EventRejection[] = [];
    // `replaced` lists the texts UTF-8 could not carry (always none in the bus's batches), so the texts
    // themselves are never read.
    const { replaced } = bytes;
    let nextReplaced = 0;
    let count = 0;
    for (let i = 0; i < batch.size; i++) {
      const size = bytes.offsets[i + 1]! - bytes.offsets[i]!;
      const isReplaced = replaced[nextReplaced] === i;
      if (isReplaced) nextReplaced++;
      if (size > max) {
        rejected.push({
          index: i,
          reason: "tooLarge",
          message: `${size} bytes > ${max} (stream record limit)`,
        });
      } else if (isReplaced) {
        rejected.push({
          index: i,
          reason: "invalidText",
          message: "lone UTF-16 surrogate: not storable as UTF-8",
        });
      } else {
        sendable[count++] = i;
      }
    }
    return { sendable: sendable.subarray(0, count), rejected };
  }

  /** The next call's records, from position `from` of `sendable`, with a fresh request id. */
  private chunk(
    batch: Batch,
    bytes: BatchBytes,
    producer: Buffer,
    sendable: Uint32Array,
    from: number,
  ): PutRecordsRequestEntry[] {
    const { data, offsets } = bytes;
    let to = from;
    let requestBytes = 0;
    let dataBytes = 0;
    while (to < sendable.length && to - from < MAX_RECORDS_PER_REQUEST) {
      const i = sendable[to]!;
      const size = HEADER_BYTES + offsets[i + 1]! - offsets[i]!;
      if (to > from && requestBytes + size + PARTITION_KEY_BYTES > MAX_REQUEST_BYTES) break;
      requestBytes += size + PARTITION_KEY_BYTES;
      dataBytes += size;
      to++;
    }
    const request = this.nextRequest;
    this.nextRequest = (this.nextRequest + 1) >>> 0;
    const buffer = Buffer.allocUnsafe(dataBytes);
    const partitionKey = partitionKeyOf(batch.shard);
    const hashKey = this.context.hashKeys.of(batch.shard);
    const entries: PutRecordsRequestEntry[] = new Array(to - from);
    let offset = 0;
    for (let position = from; position < to; position++) {
      const i = sendable[position]!;
      const start = offsets[i]!;
      const end = offsets[i + 1]!;
      writeHeader(buffer, offset, {
        producer,
        sequence: batch.firstSequence + i,
        timestamp: batch.timestamps[i]!,
        request,
        index: position - from,
      });
      buffer.set(data.subarray(start, end), offset + HEADER_BYTES);
      const size = HEADER_BYTES + end - start;
      entries[position - from] = {
        Data: buffer.subarray(offset, offset + size),
        PartitionKey: partitionKey,
        ExplicitHashKey: hashKey,
      };
      offset += size;
    }
    return entries;
  }
}
