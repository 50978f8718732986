import { formatCount } from "./format.js";

/** A snapshot for the progress line. */
export interface ProgressSample {
  /** Events the bus accepted so far. */
  readonly ingested: number;
  /** Events the adapter has stored so far. */
  readonly dispatched: number;
  /** Events accepted but not yet stored. */
  readonly pending: number;
  /** During the read-back: events read so far, and out of how many. */
  readonly readBack?: { readonly done: number; readonly total: number };
}

/** Where the runner reports progress; {@link silentProgress} ignores it. */
export interface Progress {
  /** Starts (or switches to) a phase whose state `sample` returns on each tick. */
  phase(name: string, sample: () => ProgressSample): void;
  /** Stops ticking and leaves the terminal clean for the summary. */
  stop(): void;
}

/** A {@link Progress} that shows nothing (`--quiet`, tests). */
export const silentProgress: Progress = { phase() {}, stop() {} };

/** The minimal writable the progress line needs (`process.stderr` is one). */
export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/**
 * A progress line every `intervalMs` on `out` (stderr, so stdout keeps just the summary): on a TTY one
 * line rewritten in place with `\r`, otherwise one plain line per tick so logs and CI stay readable.
 * Rates are measured between ticks, so they show the current speed rather than a running average.
 */
export class ProgressLine implements Progress {
  private timer: NodeJS.Timeout | undefined;
  private name = "";
  private sample: (() => ProgressSample) | undefined;
  private lastAt = 0;
  private lastCount = 0;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly intervalMs = 250,
    private readonly now: () => number = () => performance.now(),
  ) {}

  phase(name: string, sample: () => ProgressSample): void {
    this.name = name;
    this.sample = sample;
    this.lastAt = this.now();
    this.lastCount = this.countOf(sample());
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      // Never keep the process alive just to print progress.
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn && this.out.isTTY) this.out.write("\r\x1b[K");
    this.drawn = false;
  }

  /** Draws one line now (the timer calls it; tests call it directly). */
  tick(): void {
    if (this.sample === undefined) return;
    const state = this.sample();
    const at = this.now();
    const count = this.countOf(state);
    const elapsed = (at - this.lastAt) / 1000;
    const rate = elapsed > 0 ? (count - this.lastCount) / elapsed : 0;
    this.lastAt = at;
    this.lastCount = count;
    const line = this.format(state, rate);
    if (this.out.isTTY) this.out.write(`\r${line}\x1b[K`);
    else this.out.write(`${line}\n`);
    this.drawn = true;
  }

  private countOf(state: ProgressSample): number {
    return state.readBack?.done ?? state.ingested;
  }

  private format(state: ProgressSample, rate: number): string {
    const label = `[${this.name}]`.padEnd(12);
    const speed = `${formatCount(Math.round(rate))} ev/s`;
    if (state.readBack !== undefined) {
      const { done, total } = state.readBack;
      return `${label} read ${formatCount(done)} / ${formatCount(total)} events  ${speed}`;
    }
    return (
      `${label} ingested ${formatCount(state.ingested)}  ${speed}  ` +
      `pending ${formatCount(state.pending)}  dispatched ${formatCount(state.dispatched)}`
    );
  }
}
