import { setTimeout as sleep } from "node:timers/promises";
import type { EventBus, StoredEvent } from "@netmesh/core";
import { type WindowFigures, WindowSample } from "./quantiles.js";

/** What the consumers (a live tail, or the members of a group) have received so far. */
export interface ConsumerWindow {
  /** Events received since the run started. */
  readonly received: number;
  /** End-to-end latency of the window's events: received minus insertion time, ms. */
  readonly latencyMs: WindowFigures;
}

/**
 * Counts what consumers received and how long after ingest: each event's insertion timestamp
 * (µs since the epoch, set by the bus) against the wall clock when the consumer got it.
 */
export class ConsumerGauge {
  received = 0;
  private readonly latency = new WindowSample();

  /** Records one event received now. */
  observe(event: StoredEvent): void {
    this.received++;
    this.latency.add(Math.max(0, Date.now() - event.timestamp / 1000));
  }

  /** The figures of the window since the last call. */
  take(): ConsumerWindow {
    return { received: this.received, latencyMs: this.latency.take() };
  }
}

/** Longest wait for a closed tail to end. */
const STOP_TIMEOUT_MS = 2_000;

/** A running live tail of the bus; `stop()` ends it. */
export interface LiveTail {
  readonly gauge: ConsumerGauge;
  stop(): Promise<void>;
}

/**
 * Follows the bus with `bus.subscribe()` while the run goes, as a dashboard's consumer would: the
 * dashboard shows its lag (stored but not yet received) and its end-to-end latency.
 */
export function startLiveTail(bus: EventBus, gauge: ConsumerGauge): LiveTail {
  const subscription = bus.subscribe({ pageSize: 2_000 });
  const done = (async () => {
    for await (const event of subscription) gauge.observe(event);
  })().catch(() => {});
  return {
    gauge,
    async stop() {
      subscription.close();
      // close() ends the iteration after the event being delivered; bound the wait all the same.
      await Promise.race([done, sleep(STOP_TIMEOUT_MS)]);
    },
  };
}
