import { FatalError, type ReadShardOptions, type ShardPage, compareIds } from "@netmesh/core/adapter";
import { causeCode } from "./classify.js";
import type { Link } from "./lineage.js";
import { type LogContext, ShardLog, type StartPosition, firstRecord } from "./shard-log.js";
import { sleep } from "./sleep.js";

/** A Kinesis sequence number as the API accepts one: a decimal of at most 129 digits. */
const SEQUENCE = /^(0|[1-9]\d{0,128})$/;

/** Whether `text` has the form of a Kinesis sequence number (decimal, no leading zeros). */
export function isSequenceNumber(text: string): boolean {
  return SEQUENCE.test(text);
}
/** Logs kept per bus shard (readers at different places). */
const LOGS_PER_SHARD = 4;
/** Fetches a cold start may spend scanning its look-back window, whatever `maxFetchesPerPoll` says. */
const MAX_LOOKBACK_FETCHES = 10_000;
/** Records asked of one `GetRecords`: Kinesis's maximum. */
const MAX_FETCH = 10_000;
/** Fewest records asked of one `GetRecords`, so small pages do not cost a call each. */
const MIN_FETCH = 1_000;

/** Settings of the reader. */
export interface ReaderSettings {
  readonly maxFetchesPerPoll: number;
  readonly followIntervalMs: number;
  readonly readCacheBytes: number;
}

/** Where `id` lies in `chain`: a link index, `"before"` (older than every listed shard), or undefined. */
function locate(chain: readonly Link[], id: bigint): number | "before" | undefined {
  for (const [i, link] of chain.entries()) {
    if (id >= link.start && (link.end === undefined || id <= link.end)) return i;
  }
  return chain.length > 0 && id < chain[0]!.start ? "before" : undefined;
}

function covers(log: ShardLog, afterId: string | undefined): boolean {
  if (afterId === undefined) return log.startAfter === undefined;
  if (log.startAfter !== undefined && compareIds(afterId, log.startAfter) < 0) return false;
  return log.frontierId !== undefined && compareIds(afterId, log.frontierId) <= 0;
}

/** Index of the first event with an id above `afterId` (binary search: ids increase along a log). */
function indexAfter(log: ShardLog, afterId: string | undefined): number {
  if (afterId === undefined) return 0;
  let low = 0;
  let high = log.events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareIds(log.events[mid]!.id, afterId) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Pages of bus shards, served from cached {@link ShardLog}s. A read continuing where an earlier one
 * ended (the usual case: a consumer paging, `bus.poll`, `readShard`) finds its cursor inside a log and
 * costs at most the frontier's `GetRecords`. A cursor no log covers (a new process, an evicted log)
 * starts a new log: from the lineage's start without a cursor, or a **cold start** after it, which
 * first rebuilds the dedup state by scanning the `dedupWindowMs` before the cursor's record (see the
 * README) and only then returns events.
 */
export class Reader {
  private readonly logs = new Map<number, ShardLog[]>();

  constructor(
    private readonly context: LogContext,
    private readonly settings: ReaderSettings,
  ) {}

  /** One page of `shard` after `afterId` (contract rule 6). */
  async page(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    if (afterId !== undefined && !SEQUENCE.test(afterId)) {
      throw new FatalError(
        `kinesis pollShard: afterId ${JSON.stringify(afterId.slice(0, 80))} is not a Kinesis sequence number (fatal)`,
      );
    }
    for (let attempt = 0; attempt < 2; attempt++) {
      const log = this.find(shard, afterId) ?? (await this.open(shard, afterId));
      const page = await log.exclusive(() => this.serve(log, afterId, limit));
      if (page !== undefined) return page;
      // The log stopped covering the cursor meanwhile (evicted): a second try opens a new one.
    }
    throw new FatalError(`kinesis pollShard: no reader could cover cursor ${afterId} of shard ${shard}`);
  }

  /** Pages of `shard` as they come (contract `readShard`); ends when `options.signal` aborts. */
  async *follow(
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    let cursor = afterId;
    while (!options.signal.aborted) {
      const page = await this.page(shard, cursor, options.limit);
      if (page.events.length > 0 || (page.nextId !== undefined && page.nextId !== cursor)) {
        yield page;
        cursor = page.nextId ?? cursor;
      }
      // Caught up: Kinesis has no blocking read, so wait a little before asking again.
      if (!page.hasMore) await sleep(this.settings.followIntervalMs, options.signal);
    }
  }

  /** Forgets every log. */
  clear(): void {
    this.logs.clear();
  }

  private find(shard: number, afterId: string | undefined): ShardLog | undefined {
    return this.logs.get(shard)?.find((log) => covers(log, afterId));
  }

  private async serve(
    log: ShardLog,
    afterId: string | undefined,
    limit: number,
  ): Promise<ShardPage | undefined> {
    if (!covers(log, afterId)) return undefined;
    log.lastUsed = Date.now();
    const start = indexAfter(log, afterId);
    const wanted = Math.min(limit, Number.MAX_SAFE_INTEGER - 1) + 1; // one more tells hasMore
    let fetches = 0;
    let lookbackFetches = 0;
    let fresh = false;
    while (log.events.length - start < wanted) {
      if (fresh && log.caughtUp) break;
      if (log.inLookback) {
        if (++lookbackFetches > MAX_LOOKBACK_FETCHES) break;
      } else if (++fetches > this.settings.maxFetchesPerPoll) break;
      const missing = wanted - (log.events.length - start);
      await log.fetch(log.inLookback ? MAX_FETCH : Math.min(MAX_FETCH, Math.max(MIN_FETCH, 2 * missing)));
      fresh = true;
    }
    const events = log.events.slice(start, start + limit);
    const complete = fresh && log.caughtUp;
    this.trim(log, start);
    if (events.length > 0) {
      return { events, nextId: events.at(-1)!.id, hasMore: log.events.length > start + limit || !complete };
    }
    if (complete) {
      // Nothing to return: only records in another format are worth moving the cursor past (skipped
      // copies, orphans and other bus shards' records cost nothing to pass again from the cache).
      const corrupt = log.lastCorruptId;
      const past = corrupt !== undefined && (afterId === undefined || compareIds(corrupt, afterId) > 0);
      return { events: [], nextId: past ? corrupt : undefined, hasMore: false };
    }
    // Out of calls before finding an event: move past what was examined, if anything was.
    const moved =
      log.frontierId !== undefined && (afterId === undefined || compareIds(log.frontierId, afterId) > 0);
    return { events: [], nextId: moved && !log.inLookback ? log.frontierId : undefined, hasMore: true };
  }

  /** A new log for a cursor no cached log covers. */
  private async open(shard: number, afterId: string | undefined): Promise<ShardLog> {
    const { lineage } = this.context;
    let chain = await lineage.chainFor(shard, false, this.context.signal);
    let log: ShardLog;
    if (afterId === undefined) {
      log = new ShardLog(this.context, shard, chain, 0, { type: "TRIM_HORIZON" }, undefined, undefined);
    } else {
      const id = BigInt(afterId);
      let at = locate(chain, id);
      if (at === undefined) {
        chain = await lineage.chainFor(shard, true, this.context.signal);
        at = locate(chain, id);
      }
      if (at === undefined) {
        throw new FatalError(
          `kinesis pollShard: afterId ${afterId} is not a sequence number of the Kinesis shards holding bus shard ${shard} (fatal)`,
        );
      }
      log =
        at === "before"
          ? new ShardLog(this.context, shard, chain, 0, { type: "TRIM_HORIZON" }, afterId, undefined)
          : await this.coldStart(shard, chain, at, afterId);
    }
    this.register(log);
    return log;
  }

  /**
   * A log after `afterId` (in `chain[at]`) whose dedup state is rebuilt first: it scans from
   * `dedupWindowMs` before the cursor record's arrival, deciding records without returning them, so a
   * retry's copy after the cursor whose original lies before it is still dropped.
   */
  private async coldStart(shard: number, chain: Link[], at: number, afterId: string): Promise<ShardLog> {
    this.context.counters.coldStarts++;
    const link = chain[at]!;
    let probe: Awaited<ReturnType<typeof firstRecord>>;
    try {
      probe = await firstRecord(this.context, link, { type: "AT_SEQUENCE_NUMBER", sequence: afterId });
    } catch (error) {
      if (causeCode(error) === "InvalidArgumentException") {
        throw new FatalError(
          `kinesis pollShard: afterId ${afterId} is not a sequence number of ${link.shardId}, which holds bus shard ${shard} (fatal)`,
          { cause: error },
        );
      }
      throw error;
    }
    const arrival = probe?.ApproximateArrivalTimestamp?.getTime();
    if (probe?.SequenceNumber !== afterId || arrival === undefined) {
      // No record at the cursor (trimmed, or the end of a closed shard): nothing to look back at.
      const after: StartPosition = { type: "AFTER_SEQUENCE_NUMBER", sequence: afterId };
      return new ShardLog(this.context, shard, chain, at, after, afterId, undefined);
    }
    const from = arrival - this.context.dedupWindowMs;
    let startLink = at;
    let start: StartPosition = { type: "AT_TIMESTAMP", at: new Date(from) };
    const first = await firstRecord(this.context, link, { type: "TRIM_HORIZON" });
    const firstArrival = first?.ApproximateArrivalTimestamp?.getTime() ?? arrival;
    if (firstArrival >= from) {
      // The cursor's shard began within the window: its ancestors' last records may fall in it too.
      // They are read from their start (an AT_TIMESTAMP beyond a shard's last record is not portable).
      start = { type: "TRIM_HORIZON" };
      while (startLink > 0) {
        startLink--;
        const head = await firstRecord(this.context, chain[startLink]!, { type: "TRIM_HORIZON" });
        const headArrival = head?.ApproximateArrivalTimestamp?.getTime();
        if (headArrival !== undefined && headArrival < from) break;
      }
    }
    return new ShardLog(this.context, shard, chain, startLink, start, afterId, {
      link: at,
      sequence: BigInt(afterId),
    });
  }

  private register(log: ShardLog): void {
    const list = this.logs.get(log.shard) ?? [];
    list.push(log);
    if (list.length > LOGS_PER_SHARD) {
      list.sort((a, b) => b.lastUsed - a.lastUsed);
      list.length = LOGS_PER_SHARD;
    }
    this.logs.set(log.shard, list);
  }

  /**
   * Keeps the cache within `readCacheBytes`: drops the least recently used other logs first, then the
   * served log's events before the page just served.
   */
  private trim(served: ShardLog, position: number): void {
    let total = 0;
    const all = [...this.logs.values()].flat();
    for (const log of all) total += log.bytes;
    if (total <= this.settings.readCacheBytes) return;
    all.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const log of all) {
      if (total <= this.settings.readCacheBytes) return;
      if (log === served) continue;
      total -= log.bytes;
      const list = this.logs.get(log.shard)!;
      list.splice(list.indexOf(log), 1);
    }
    if (total > this.settings.readCacheBytes) served.dropFirst(position);
  }
}
