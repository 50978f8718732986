import type { BusStats } from "@netmesh/core";
import type { TimelineEntry } from "../diagnostics-tap.js";
import type { WindowFigures } from "../quantiles.js";
import type { LiveRun } from "../run.js";

/** One shard in a sample. */
export interface ShardSample {
  readonly id: number;
  readonly state: string;
  /** Events per second accepted / stored during the window. */
  readonly ingestRate: number;
  readonly dispatchRate: number;
  /** Ring fill, 0 to 1. */
  readonly fill: number;
  readonly pending: number;
}

/** What the dashboard gets every tick: rates of the window, totals so far. */
export interface Sample {
  /** Seconds since the run started. */
  readonly t: number;
  readonly phase: string;
  readonly shards: readonly ShardSample[];
  readonly totals: Pick<
    BusStats,
    | "ingested"
    | "dispatched"
    | "dropped"
    | "uncertain"
    | "rejected"
    | "pending"
    | "batches"
    | "droppedBy"
    | "uncertainBy"
    | "rejectedBy"
  >;
  readonly rates: { readonly ingest: number; readonly dispatch: number };
  /** Batch sizes (events), adapter time and queue delay (ms) of the window's batches. */
  readonly batch: WindowFigures;
  readonly adapterMs: WindowFigures;
  readonly queueDelayMs: WindowFigures;
  readonly retries: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
  readonly backpressure: { readonly engaged: number; readonly released: number };
  readonly scaling: {
    readonly active: number;
    readonly draining: number;
    readonly added: number;
    readonly removed: number;
  };
  /** The live consumers (a tail, or the group): received, lag behind what is stored, end-to-end latency. */
  readonly consumers: {
    readonly received: number;
    readonly lag: number;
    readonly latencyMs: WindowFigures;
  } | null;
  /** Events read back (or delivered to the group) so far. */
  readonly verified: number;
  /** Replica lag and shipped bytes, when the run has a replica. */
  readonly replication: { readonly replicaLagMs: number | null; readonly syncBytes: number } | null;
  /** Timeline entries that appeared since the previous sample. */
  readonly timeline: readonly TimelineEntry[];
}

/**
 * Samples a running playground every `intervalMs`: `bus.stats()` for counters and per-shard figures
 * (rates are deltas over the window), the diagnostics tap for batch sizes, adapter latency quantiles,
 * retries and scaling, and the consumers' gauge for lag and end-to-end latency.
 */
export class Sampler {
  private timer: NodeJS.Timeout | undefined;
  private last = new Map<number, { ingested: number; dispatched: number }>();
  private lastTotals = { ingested: 0, dispatched: 0 };
  private lastAt = performance.now();
  private timelineSent = 0;

  constructor(
    private readonly run: LiveRun,
    private readonly onSample: (sample: Sample) => void,
    private readonly intervalMs = 250,
  ) {}

  /** Starts ticking (the timer does not keep the process alive). */
  start(): void {
    this.lastAt = performance.now();
    this.timer = setInterval(() => this.onSample(this.take()), this.intervalMs);
    this.timer.unref();
  }

  /** Takes one last sample and stops. */
  stop(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.onSample(this.take());
  }

  /** One sample of the window since the previous one. */
  take(): Sample {
    const { bus, tap, consumers } = this.run;
    const stats = bus.stats();
    const now = performance.now();
    const seconds = Math.max((now - this.lastAt) / 1000, 1e-3);
    this.lastAt = now;
    const shards = stats.shards.map((shard): ShardSample => {
      const before = this.last.get(shard.id) ?? { ingested: 0, dispatched: 0 };
      this.last.set(shard.id, { ingested: shard.ingested, dispatched: shard.dispatched });
      return {
        id: shard.id,
        state: shard.state,
        ingestRate: Math.max(0, shard.ingested - before.ingested) / seconds,
        dispatchRate: Math.max(0, shard.dispatched - before.dispatched) / seconds,
        fill: shard.fill,
        pending: shard.queued + shard.inFlight,
      };
    });
    const rates = {
      ingest: (stats.ingested - this.lastTotals.ingested) / seconds,
      dispatch: (stats.dispatched - this.lastTotals.dispatched) / seconds,
    };
    this.lastTotals = { ingested: stats.ingested, dispatched: stats.dispatched };
    const window = tap.takeWindow();
    const totals = tap.totals();
    const timeline = tap.timeline.slice(this.timelineSent);
    this.timelineSent += timeline.length;
    const consumed = consumers?.take();
    return {
      t: tap.now() / 1000,
      phase: this.run.phase(),
      shards,
      totals: {
        ingested: stats.ingested,
        dispatched: stats.dispatched,
        dropped: stats.dropped,
        uncertain: stats.uncertain,
        rejected: stats.rejected,
        pending: stats.pending,
        batches: stats.batches,
        droppedBy: { ...stats.droppedBy },
        uncertainBy: { ...stats.uncertainBy },
        rejectedBy: { ...stats.rejectedBy },
      },
      rates,
      batch: window.size,
      adapterMs: window.adapterMs,
      queueDelayMs: window.queueDelayMs,
      retries: { total: totals.retries, byReason: totals.retriesBy },
      backpressure: totals.backpressure,
      scaling: {
        active: stats.scaling.active,
        draining: stats.scaling.draining,
        added: totals.scaling.added,
        removed: stats.scaling.removed,
      },
      consumers:
        consumed === undefined
          ? null
          : {
              received: consumed.received,
              lag: Math.max(0, stats.dispatched - consumed.received),
              latencyMs: consumed.latencyMs,
            },
      verified: this.run.verified(),
      replication: this.run.replication(),
      timeline,
    };
  }
}
