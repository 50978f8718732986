import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  type BackpressureMessage,
  type BatchDispatchedMessage,
  type BatchRetriedMessage,
  DIAGNOSTICS_CHANNELS,
  type EventsDroppedMessage,
  type TopologyChangedMessage,
} from "@netmesh/core";
import { type WindowFigures, WindowSample } from "./quantiles.js";

/** Something that happened during a run, for the report's and the dashboard's timeline. */
export interface TimelineEntry {
  /** Milliseconds since the run started. */
  readonly atMs: number;
  /** `scale-up`, `draining`, `removed`, `outage`, `recovered`, `phase`, `backpressure`. */
  readonly kind: string;
  readonly text: string;
}

/** Per-window batch figures: sizes in events, adapter and queue times in ms. */
export interface BatchWindow {
  readonly size: WindowFigures;
  readonly adapterMs: WindowFigures;
  readonly queueDelayMs: WindowFigures;
}

/** The totals a tap has counted since it was attached. */
export interface TapTotals {
  readonly batches: number;
  readonly retries: number;
  readonly retriesBy: Readonly<Record<string, number>>;
  readonly backpressure: { readonly engaged: number; readonly released: number };
  readonly scaling: { readonly added: number; readonly draining: number; readonly removed: number };
  /** Batches the bus gave up on whole (`events:dropped` with scope `batch`). */
  readonly batchesDropped: number;
}

/** Most timeline entries kept (backpressure flips on a tiny ring can be many: they are folded). */
const MAX_TIMELINE = 500;

/**
 * Listens to the bus's `node:diagnostics_channel` events (only those of one producer) and keeps what
 * the report and the dashboard show: retries by reason, backpressure flips, topology changes on a
 * timeline, and per-window batch sizes and adapter / queue times for p50 and p99.
 */
export class DiagnosticsTap {
  private readonly sizes = new WindowSample();
  private readonly adapterMs = new WindowSample();
  private readonly queueMs = new WindowSample();
  private batches = 0;
  private retries = 0;
  private readonly retriesBy: Record<string, number> = {};
  private readonly flips = { engaged: 0, released: 0 };
  private readonly scaling = { added: 0, draining: 0, removed: 0 };
  private batchesDropped = 0;
  private readonly entries: TimelineEntry[] = [];
  /** Shard ids ever seen in a topology change (readers must read removed shards too). */
  readonly shardsSeen = new Set<number>();
  private readonly handlers: [string, (message: unknown) => void][];
  private lastBackpressureEntryAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly producer: string,
    private readonly startedAt: number = performance.now(),
  ) {
    const mine =
      <T extends { producer: string }>(handle: (message: T) => void) =>
      (message: unknown) => {
        if ((message as T).producer === this.producer) handle(message as T);
      };
    this.handlers = [
      [DIAGNOSTICS_CHANNELS.batchDispatched, mine((m: BatchDispatchedMessage) => this.onBatch(m))],
      [DIAGNOSTICS_CHANNELS.batchRetried, mine((m: BatchRetriedMessage) => this.onRetry(m))],
      [DIAGNOSTICS_CHANNELS.eventsDropped, mine((m: EventsDroppedMessage) => this.onDropped(m))],
      [DIAGNOSTICS_CHANNELS.topologyChanged, mine((m: TopologyChangedMessage) => this.onTopology(m))],
      [DIAGNOSTICS_CHANNELS.backpressure, mine((m: BackpressureMessage) => this.onBackpressure(m))],
    ];
    for (const [name, handler] of this.handlers) subscribe(name, handler);
  }

  /** Milliseconds since the run started. */
  now(): number {
    return performance.now() - this.startedAt;
  }

  /** Adds an entry of the run's own (an outage, a phase) to the timeline. */
  note(kind: string, text: string): void {
    if (this.entries.length < MAX_TIMELINE) this.entries.push({ atMs: this.now(), kind, text });
  }

  /** The timeline so far, oldest first. */
  get timeline(): readonly TimelineEntry[] {
    return this.entries;
  }

  /** Totals since the tap was attached. */
  totals(): TapTotals {
    return {
      batches: this.batches,
      retries: this.retries,
      retriesBy: { ...this.retriesBy },
      backpressure: { ...this.flips },
      scaling: { ...this.scaling },
      batchesDropped: this.batchesDropped,
    };
  }

  /** The batch figures of the window since the last call. */
  takeWindow(): BatchWindow {
    return { size: this.sizes.take(), adapterMs: this.adapterMs.take(), queueDelayMs: this.queueMs.take() };
  }

  /** Unsubscribes. Idempotent. */
  close(): void {
    for (const [name, handler] of this.handlers) unsubscribe(name, handler);
    this.handlers.length = 0;
  }

  private onBatch(message: BatchDispatchedMessage): void {
    this.batches++;
    this.sizes.add(message.events + message.refused);
    this.adapterMs.add(message.adapterMs);
    this.queueMs.add(message.queueDelayMs);
  }

  private onRetry(message: BatchRetriedMessage): void {
    this.retries++;
    this.retriesBy[message.reason] = (this.retriesBy[message.reason] ?? 0) + 1;
    if (this.retries <= 20) {
      this.note(
        "retry",
        `shard ${message.shard}: attempt ${message.attempt} failed (${message.reason}), retry in ${Math.round(message.delayMs)} ms`,
      );
    }
  }

  private onDropped(message: EventsDroppedMessage): void {
    if (message.scope === "batch") this.batchesDropped++;
  }

  private onTopology(message: TopologyChangedMessage): void {
    this.shardsSeen.add(message.shard);
    this.scaling[message.type]++;
    const kind = message.type === "added" ? "scale-up" : message.type;
    this.note(
      kind,
      `shard ${message.shard} ${message.type} (${message.reason}); ${message.activeShards} active`,
    );
  }

  private onBackpressure(message: BackpressureMessage): void {
    this.flips[message.state]++;
    // A tiny ring flips many times a second: note the first engagement of each second only.
    const at = this.now();
    if (message.state === "engaged" && at - this.lastBackpressureEntryAt >= 1_000) {
      this.lastBackpressureEntryAt = at;
      this.note(
        "backpressure",
        `shard ${message.shard}: ring full (${message.queued}/${message.capacity}), backpressure engaged`,
      );
    }
  }
}
