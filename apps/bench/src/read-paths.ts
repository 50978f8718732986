/**
 * The bus's paths of the read benchmark: writing the N events through a bus (the write rates the reads
 * are compared with), pre-serialized (`ingestRawManyOrWait`) or as values the bus serializes
 * (`ingestManyOrWait`); reading them all back with `bus.poll({ limit: 1000 })` in a loop, and with
 * `bus.subscribe({ pageSize: 1000 })` until N arrived. A read either JSON-parses each event (what a
 * consumer of values does) or takes its JSON text unparsed (a consumer that passes the text on); both
 * record every event in a Tally.
 */
import type { EventBus, RawEvent } from "@netmesh/core";
import type { Tally } from "./read-workload.js";

/** Events per poll / subscription page / hand-written read call. */
export const PAGE = 1_000;
/** Events handed to the bus per ingest call (it waits for ring room between calls). */
const INGEST_CHUNK = 16_384;

/** One timed run: wall time and this process's CPU over it (% of one core). */
export interface Timing {
  readonly ms: number;
  readonly cpu: number;
  /** The backend server's CPU over the run per event, µs, when the backend reports it (Redis). */
  readonly serverUs?: number;
}

/** Times `work`, after a GC when `--expose-gc` is on. */
export async function timed(work: () => Promise<void>): Promise<Timing> {
  globalThis.gc?.();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpu: ((cpu.user + cpu.system) / 1000 / ms) * 100 };
}

/** How a read path takes each event: JSON-parsed, or as its JSON text (see {@link Tally.addText}). */
export type Take = "parse" | "text";

/** Writes `items` through the bus in chunks with `ingest`, waits until all are stored; throws unless every one was. */
async function writeChunks<T>(
  bus: EventBus,
  items: readonly T[],
  ingest: (chunk: readonly T[]) => Promise<number>,
): Promise<void> {
  for (let offset = 0; offset < items.length; offset += INGEST_CHUNK) {
    const chunk = items.slice(offset, offset + INGEST_CHUNK);
    const accepted = await ingest(chunk);
    if (accepted !== chunk.length) throw new Error(`the bus accepted ${accepted} of ${chunk.length} events`);
  }
  await bus.flush();
  const { dispatched, dropped, rejected } = bus.stats();
  if (dispatched !== items.length || dropped + rejected !== 0) {
    throw new Error(
      `write: dispatched ${dispatched} of ${items.length}, dropped ${dropped}, rejected ${rejected}`,
    );
  }
}

/** Writes pre-serialized `raws` (`ingestRawManyOrWait`) and waits until all are stored. */
export function writeAll(bus: EventBus, raws: readonly RawEvent[]): Promise<void> {
  return writeChunks(bus, raws, (chunk) => bus.ingestRawManyOrWait(chunk));
}

/** Writes `values`, which the bus serializes (`ingestManyOrWait`, keyed by `keyOf`), and waits until all are stored. */
export function writeValuesAll(
  bus: EventBus,
  values: readonly unknown[],
  keyOf: (value: unknown) => string,
): Promise<void> {
  return writeChunks(bus, values, (chunk) => bus.ingestManyOrWait(chunk, { key: keyOf }));
}

/**
 * `bus.poll({ limit: 1000, cursor })` from the beginning until a page says nothing more is there (or
 * the deadline passes). A shard that fails fails the path: its events would be missing.
 */
export async function pollAll(
  bus: EventBus,
  tally: Tally,
  deadline: number,
  take: Take = "parse",
): Promise<void> {
  let cursor: string | undefined;
  const maxPolls = Math.ceil(tally.expected / PAGE) * 4 + 100;
  for (let polls = 0; polls < maxPolls; polls++) {
    const page = await bus.poll({ limit: PAGE, ...(cursor !== undefined && { cursor }) });
    if (page.failedShards.length > 0 || page.stalledShards.length > 0) {
      throw new Error(`poll: failed shards [${page.failedShards}], stalled shards [${page.stalledShards}]`);
    }
    if (take === "parse") for (const event of page.events) tally.addJson(event.json);
    else for (const event of page.events) tally.addText(event.json);
    cursor = page.cursor;
    if (!page.hasMore) return;
    if (performance.now() > deadline) throw new Error(`poll: deadline passed after ${tally.received} events`);
  }
  throw new Error(`poll: still more after ${maxPolls} polls`);
}

/**
 * `bus.subscribe({ pageSize: 1000 })` from the beginning until N events arrived (then `break`), or the
 * deadline passes (the signal ends the iteration; the Tally then shows what is missing).
 */
export async function subscribeAll(
  bus: EventBus,
  tally: Tally,
  deadline: number,
  take: Take = "parse",
): Promise<void> {
  const signal = AbortSignal.timeout(Math.max(1, Math.ceil(deadline - performance.now())));
  const parse = take === "parse";
  for await (const event of bus.subscribe({ pageSize: PAGE, signal })) {
    if (parse) tally.addJson(event.json);
    else tally.addText(event.json);
    if (tally.received === tally.expected) return;
  }
  throw new Error(`subscribe: ended (deadline) after ${tally.received} events`);
}
