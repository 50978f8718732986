/** Longest excerpt of a value shown in a failure message. */
const SHOWN_CHARACTERS = 80;

/**
 * A value for a failure message: its JSON form (strings quoted, so invisible characters show),
 * truncated, followed by its JS type, e.g. `"1795982485018000" (string)`. Values of different types
 * that print alike (the string and the number) are then told apart.
 */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (typeof value === "bigint") text = `${value}n`;
  else if (typeof value === "number" || typeof value === "boolean" || value === undefined || value === null) {
    text = String(value);
  } else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  if (text.length > SHOWN_CHARACTERS) text = `${text.slice(0, SHOWN_CHARACTERS)}… (${text.length} chars)`;
  const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
  return `${text} (${type})`;
}
