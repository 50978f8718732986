/**
 * The bus's paths of the read benchmark: writing N prepared events through a bus (the write rate the
 * reads are compared with), reading them all back with `bus.poll({ limit: 1000 })` in a loop, and with
 * `bus.subscribe({ pageSize: 1000 })` until N arrived. Every read JSON-parses each event into a Tally.
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

/** Writes `raws` through the bus and waits until all are stored; throws unless every one was. */
export async function writeAll(bus: EventBus, raws: readonly RawEvent[]): Promise<void> {
  for (let offset = 0; offset < raws.length; offset += INGEST_CHUNK) {
    const chunk = raws.slice(offset, offset + INGEST_CHUNK);
    const accepted = await bus.ingestRawManyOrWait(chunk);
    if (accepted !== chunk.length) throw new Error(`the bus accepted ${accepted} of ${chunk.length} events`);
  }
  await bus.flush();
  const { dispatched, dropped, rejected } = bus.stats();
  if (dispatched !== raws.length || dropped + rejected !== 0) {
    throw new Error(
      `write: dispatched ${dispatched} of ${raws.length}, dropped ${dropped}, rejected ${rejected}`,
    );
  }
}

/**
 * `bus.poll({ limit: 1000, cursor })` from the beginning until a page says nothing more is there (or
 * the deadline passes). A shard that fails fails the path: its events would be missing.
 */
export async function pollAll(bus: EventBus, tally: Tally, deadline: number): Promise<void> {
  let cursor: string | undefined;
  const maxPolls = Math.ceil(tally.expected / PAGE) * 4 + 100;
  for (let polls = 0; polls < maxPolls; polls++) {
    const page = await bus.poll({ limit: PAGE, ...(cursor !== undefined && { cursor }) });
    if (page.failedShards.length > 0 || page.stalledShards.length > 0) {
      throw new Error(`poll: failed shards [${page.failedShards}], stalled shards [${page.stalledShards}]`);
    }
    for (const event of page.events) tally.addJson(event.json);
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
export async function subscribeAll(bus: EventBus, tally: Tally, deadline: number): Promise<void> {
  const signal = AbortSignal.timeout(Math.max(1, Math.ceil(deadline - performance.now())));
  for await (const event of bus.subscribe({ pageSize: PAGE, signal })) {
    tally.addJson(event.json);
    if (tally.received === tally.expected) return;
  }
  throw new Error(`subscribe: ended (deadline) after ${tally.received} events`);
}
