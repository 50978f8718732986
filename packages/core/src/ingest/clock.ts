/**
 * Wall-clock microseconds since the Unix epoch, read from the monotonic high-resolution timer so it
 * never steps backwards with NTP adjustments. A read costs ~40 ns, so callers cache it (see
 * {@link CoarseClock}).
 */
export function nowMicros(): number {
  return nowMicrosFrom(performance.now());
}

/** The same clock for a `performance.now()` reading already taken. */
export function nowMicrosFrom(performanceNow: number): number {
  return Math.floor((performance.timeOrigin + performanceNow) * 1000);
}

/**
 * A cached clock for the ingest path. The bus refreshes it every {@link CoarseClock.refreshEvery}
 * pushes and whenever a ring was empty, so a push almost never reads the real clock.
 */
export class CoarseClock {
  /** Pushes between two reads of the real clock. */
  static readonly refreshEvery = 128;
  /** The cached reading in microseconds since the epoch. */
  now = nowMicros();
  private budget = CoarseClock.refreshEvery;

  /** Counts one push and re-reads the clock when the budget is spent. */
  tick(): void {
    if (--this.budget === 0) this.refresh();
  }

  /** Re-reads the real clock. */
  refresh(): void {
    this.budget = CoarseClock.refreshEvery;
    this.now = nowMicros();
  }
}

/**
 * Next strictly increasing timestamp for a shard: the cached clock, or one more than the shard's last
 * timestamp when the clock has not moved on. Under bursts above one event per microsecond per shard
 * timestamps run ahead of the wall clock until the rate drops; they never repeat or go backwards.
 */
export function nextTimestamp(last: number, clockNow: number): number {
  return clockNow > last ? clockNow : last + 1;
}
