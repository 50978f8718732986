/**
 * Number formatting shared by the progress line and the summary. A fixed locale, so output is the
 * same on every machine (and stable in tests), whatever the user's `LANG`.
 */
const counts = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimals = new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** `1234567` → `"1,234,567"`. */
export function formatCount(value: number): string {
  return counts.format(value);
}

/** `1234.56` → `"1,234.6"`. */
export function formatDecimal(value: number): string {
  return decimals.format(value);
}

/** Milliseconds as `"812 ms"` or `"3.42 s"`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** `part / whole` as `"12.3%"` (`"0.0%"` when `whole` is 0). */
export function formatShare(part: number, whole: number): string {
  return `${whole === 0 ? "0.0" : ((part * 100) / whole).toFixed(1)}%`;
}
