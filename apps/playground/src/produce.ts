import { setTimeout as sleep, setImmediate as nextTurn } from "node:timers/promises";
import type { Sender } from "./sender.js";
import { MAX_STEP_EVENTS } from "./session.js";
import type { Workload } from "./workload.js";

/** How to pace production. */
export interface Pacing {
  /** Events produced between two yields to the event loop. */
  readonly chunkSize: number;
  /** At most this many events per second on average (`--rate`); unlimited when absent. */
  readonly rate?: number;
  /** After every `burstEvents` events, pause `pauseMs` (the burst scenario's waves). */
  readonly waves?: { readonly burstEvents: number; readonly pauseMs: number };
  /** Called after each chunk with the events produced so far (the outage scenario's trigger). */
  readonly onChunk?: (produced: number) => void;
  /** Aborting stops producing. */
  readonly signal?: AbortSignal;
}

/** Longest single pause for `--rate`, so an abort is seen promptly. */
const MAX_PACING_SLEEP_MS = 100;

/**
 * Feeds the workload to the bus in chunks of about `chunkSize` events, yielding to the event loop
 * after each so the shard pumps, their timers and the progress line get to run. Returns true when it
 * stopped because the signal aborted. Bounded: the workload is finite and every step is non-empty.
 */
export async function produce(workload: Workload, sender: Sender, pacing: Pacing): Promise<boolean> {
  const { chunkSize, rate, waves, onChunk, signal } = pacing;
  const startedAt = performance.now();
  let nextPauseAt = waves?.burstEvents ?? Number.POSITIVE_INFINITY;
  while (!workload.done) {
    if (signal?.aborted) return true;
    // A chunk can overshoot by one step, so size the room check for the largest step too.
    sender.beginChunk(chunkSize + MAX_STEP_EVENTS);
    for (let inChunk = 0; inChunk < chunkSize; ) {
      const step = workload.next();
      if (step === undefined) break;
      const waiting = sender.send(step);
      if (waiting !== undefined) await waiting;
      inChunk += step.events.length;
    }
    onChunk?.(workload.produced);
    if (waves !== undefined && workload.produced >= nextPauseAt) {
      nextPauseAt = workload.produced + waves.burstEvents;
      await sleep(waves.pauseMs);
    } else {
      await nextTurn();
    }
    if (rate !== undefined) {
      const due = () => (workload.produced * 1000) / rate - (performance.now() - startedAt);
      for (let ms = due(); ms > 0 && !signal?.aborted; ms = due())
        await sleep(Math.min(ms, MAX_PACING_SLEEP_MS));
    }
  }
  return false;
}
