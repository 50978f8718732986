/**
 * Values observed during one sampling window, for quantiles. Bounded: past `capacity` values a
 * reservoir keeps a uniform sample of the window (so a busy window costs no more memory than a quiet
 * one), while the count, sum and maximum stay exact.
 */
export class WindowSample {
  private readonly values: Float64Array;
  private size = 0;
  private seen = 0;
  private sum = 0;
  private max = 0;
  /** A cheap deterministic generator for the reservoir (xorshift32); no need for crypto here. */
  private state = 0x9e3779b9;

  constructor(capacity = 2_048) {
    this.values = new Float64Array(capacity);
  }

  /** Adds one value. */
  add(value: number): void {
    this.seen++;
    this.sum += value;
    if (value > this.max) this.max = value;
    if (this.size < this.values.length) {
      this.values[this.size++] = value;
      return;
    }
    this.state ^= this.state << 13;
    this.state ^= this.state >>> 17;
    this.state ^= this.state << 5;
    const slot = (this.state >>> 0) % this.seen;
    if (slot < this.values.length) this.values[slot] = value;
  }

  /** The window's figures, then starts a new window. Quantiles are `null` for an empty window. */
  take(): WindowFigures {
    const sorted = this.values.slice(0, this.size).sort();
    const at = (q: number) =>
      sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    const figures: WindowFigures = {
      count: this.seen,
      mean: this.seen === 0 ? null : this.sum / this.seen,
      p50: at(0.5),
      p99: at(0.99),
      max: this.seen === 0 ? null : this.max,
    };
    this.size = 0;
    this.seen = 0;
    this.sum = 0;
    this.max = 0;
    return figures;
  }
}

/** Count, mean, median, 99th percentile and maximum of a window (`null` when it saw nothing). */
export interface WindowFigures {
  readonly count: number;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}
