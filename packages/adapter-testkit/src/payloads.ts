/**
 * Event texts that trip adapters which re-encode, re-parse, trim, normalise or split what they store.
 * Each is valid JSON text as a producer may hand it to the bus (`ingestRaw` passes text through
 * untouched), and each must read back `===` to what was written.
 */
export const AWKWARD_EVENTS: readonly string[] = [
  '{"emoji":"😀👩‍👩‍👧‍👦🏳️‍🌈🇯🇵"}',
  '{"cjk":"漢字かなカナ한국어","rtl":"مرحبا שלום"}',
  // The same letter decomposed and precomposed: Unicode normalisation would merge them.
  '{"nfd":"e\u0301","nfc":"\u00e9"}',
  // Raw LINE/PARAGRAPH SEPARATOR: legal in JSON strings, line breaks to some line-oriented stores.
  '{"separators":"a\u2028b\u2029c"}',
  // The same characters as escape sequences: a re-serializer would turn these into raw characters.
  '{"escaped":"\\u2028\\u2029\\u0000\\u001f\\u007f"}',
  // Escaped lone surrogates: the text is ASCII, but decoding and re-encoding it would break.
  '{"lone":"\\ud800 \\udfff","pair":"\\ud83d\\ude00"}',
  '{"controls":"\\n\\r\\t\\b\\f\\"\\\\\\/"}',
  '{"invisible":"\ufeff\u200b\u200d\u00a0","del":"\u007f\u0085","edge":"\uffff\u{10ffff}"}',
  // Insignificant whitespace, raw newlines and tabs included: must survive untrimmed.
  ' {"whitespace" : [ 1 ,\n\t2 ] }\r\n',
  // Number spellings and key order that JSON.parse + JSON.stringify would rewrite.
  '{"numbers":[1.0,1e3,-0,0.10,12345678901234567890,1E-7]}',
  '{"b":1,"a":2,"dup":1,"dup":2}',
  '"just a string"',
  "42",
  "null",
  "true",
  "[]",
  "{}",
  `{"${"k".repeat(300)}":"long key"}`,
];

/** Bytes of `text` in UTF-8. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

// 1 + 2 + 3 + 4 bytes: byte length and string length differ, so byte-limit arithmetic is exercised.
const FILL_UNIT = "aé€😀";
const FILL_UNIT_BYTES = 10;

/**
 * A JSON object text of exactly `bytes` UTF-8 bytes (at least 64), mixing 1- to 4-byte characters.
 * `seed` makes texts of equal size distinct.
 */
export function sizedEvent(bytes: number, seed: number): string {
  const prefix = `{"seed":${seed},"pad":"`;
  const suffix = '"}';
  const budget = bytes - utf8Length(prefix) - utf8Length(suffix);
  if (!Number.isSafeInteger(bytes) || budget < 0)
    throw new RangeError(`cannot make an event of ${bytes} bytes`);
  const units = Math.floor(budget / FILL_UNIT_BYTES);
  const text = `${prefix}${FILL_UNIT.repeat(units)}${"x".repeat(budget - units * FILL_UNIT_BYTES)}${suffix}`;
  return text;
}

/** Nesting depth of {@link nestedEvents}: beyond what naive recursive codecs or JSON columns accept. */
export const NESTING_DEPTH = 1000;

/** Deeply nested JSON texts: arrays, objects, and both alternating, {@link NESTING_DEPTH} levels deep. */
export function nestedEvents(depth: number = NESTING_DEPTH): string[] {
  const arrays = `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const objects = `${'{"a":'.repeat(depth)}null${"}".repeat(depth)}`;
  const half = Math.floor(depth / 2);
  const mixed = `${'[{"b":'.repeat(half)}"leaf"${"}]".repeat(half)}`;
  return [arrays, objects, mixed];
}
