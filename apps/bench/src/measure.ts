/** Small helpers shared by the benchmark scripts. */

/** Waits for the event loop to run queued I/O and timers (lets the bus's pumps work). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `fn` and returns its wall time in ms. */
export async function timeIt(fn: () => Promise<void> | void): Promise<number> {
  globalThis.gc?.();
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Best of `runs` timings (ms): the least disturbed run on a shared, noisy machine. */
export async function bestOf(runs: number, fn: () => Promise<void> | void): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) best = Math.min(best, await timeIt(fn));
  return best;
}

/** Formats events per second. */
export function rate(events: number, ms: number): string {
  const perSecond = (events / ms) * 1000;
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M/s` : `${(perSecond / 1e3).toFixed(1)} k/s`;
}

/** Percentile of a sorted array. */
export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Prints rows as an aligned table. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const [i, row] of rows.entries()) {
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
    );
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}
