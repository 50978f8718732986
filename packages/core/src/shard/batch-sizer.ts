import type { BatchOptions } from "../config.js";

/** How much time worth of events an adaptive batch aims to hold. */
const TARGET_WINDOW_MS = 5;

/**
 * Chooses the size at which a shard's batch is sent before `maxDelayMs` expires. Adaptive sizing tracks
 * the shard's event rate with an exponential moving average (time constant `velocityWindowMs`) and aims
 * at about 5 ms worth of events, clamped to [minSize, maxSize]. Observed once per batch, not per event.
 */
export class BatchSizer {
  /** Current size trigger. */
  target: number;
  private ratePerMs = 0;
  private lastAt: number | undefined;
  private lastCount = 0;

  constructor(private readonly options: Required<BatchOptions>) {
    this.target = options.minSize;
  }

  /** Feeds the shard's total of accepted events at time `nowMs` and updates {@link BatchSizer.target}. */
  observe(acceptedTotal: number, nowMs: number): void {
    if (!this.options.adaptive) return;
    if (this.lastAt === undefined) {
      this.lastAt = nowMs;
      this.lastCount = acceptedTotal;
      return;
    }
    const elapsed = nowMs - this.lastAt;
    if (elapsed <= 0) return;
    const instant = (acceptedTotal - this.lastCount) / elapsed;
    const weight = 1 - Math.exp(-elapsed / this.options.velocityWindowMs);
    this.ratePerMs += weight * (instant - this.ratePerMs);
    this.lastAt = nowMs;
    this.lastCount = acceptedTotal;
    const wanted = Math.floor(this.ratePerMs * TARGET_WINDOW_MS);
    this.target = Math.min(this.options.maxSize, Math.max(this.options.minSize, wanted));
  }
}
