/**
 * Whether `text` is one JSON text (RFC 8259): `JSON.parse` decides. Used for payloads the read has only
 * as text (a message a leader get rebuilt from JSON); a client message is checked on its bytes, see
 * {@link isJsonBytes}.
 */
export function isJsonText(text: string): boolean {
  if (text.length === 0) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `bytes[start, end)`, which the caller has checked to be UTF-8, is one JSON text (RFC 8259, as
 * `JSON.parse` accepts it: any value at the top, whitespace only space, tab, CR and LF). A read examines
 * every payload and skips one that is not JSON as corrupt; parsing each to throw the result away cost
 * about as much as the consumer's own parse of the event, mostly in garbage. This walks the bytes once
 * and allocates nothing (beyond a larger nesting stack past 64 levels).
 *
 * On bytes: outside strings JSON is ASCII, so a byte of 0x80 or above there fails as the character it
 * starts would; inside a string every character from U+0020 on is allowed, and the bytes of a
 * multi-byte character are all 0x80 or above. A `false` is confirmed with `JSON.parse` by the caller
 * (see `record.ts`), so no fault here can drop a valid event.
 */
export function isJsonBytes(bytes: Uint8Array, start: number, end: number): boolean {
  let i = skipSpace(bytes, start, end);
  if (i >= end) return false;
  /** The open containers: OBJECT or ARRAY. */
  let stack = SMALL_STACK;
  let depth = 0;
  for (;;) {
    // A value starts at i (i < end).
    let c = bytes[i]!;
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === stack.length) {
        const grown = new Uint8Array(stack.length * 2);
        grown.set(stack);
        stack = grown;
      }
      const kind = c === OPEN_BRACE ? OBJECT : ARRAY;
      stack[depth++] = kind;
      i = skipSpace(bytes, i + 1, end);
      if (i >= end) return false;
      c = bytes[i]!;
      if (c === (kind === OBJECT ? CLOSE_BRACE : CLOSE_BRACKET)) {
        depth--; // an empty container is a complete value
        i++;
      } else {
        if (kind === OBJECT) {
          i = memberValue(bytes, i, end);
          if (i < 0) return false;
        }
        continue;
      }
    } else if (c === QUOTE) {
      i = stringEnd(bytes, i, end);
      if (i < 0) return false;
    } else if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) {
      i = numberEnd(bytes, i, end);
      if (i < 0) return false;
    } else {
      i = literalEnd(bytes, i, end, c);
      if (i < 0) return false;
    }
    // After a complete value: close containers, or go on to the next member or element.
    for (;;) {
      i = skipSpace(bytes, i, end);
      if (depth === 0) return i === end;
      if (i >= end) return false;
      c = bytes[i]!;
      const kind = stack[depth - 1]!;
      if (c === COMMA) {
        i = skipSpace(bytes, i + 1, end);
        if (i >= end) return false;
        if (kind === OBJECT) {
          i = memberValue(bytes, i, end);
          if (i < 0) return false;
        }
        break; // the next value
      }
      if (c !== (kind === OBJECT ? CLOSE_BRACE : CLOSE_BRACKET)) return false;
      depth--;
      i++;
    }
  }
}

const OBJECT = 1;
const ARRAY = 2;
const SMALL_STACK = new Uint8Array(64);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

const TRUE = Buffer.from("true", "latin1");
const FALSE = Buffer.from("false", "latin1");
const NULL = Buffer.from("null", "latin1");

function skipSpace(bytes: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = bytes[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
  return i;
}

/** At a member's key (i < end): the index of its value, after `"key"`, spaces, `:` and spaces; or -1. */
function memberValue(bytes: Uint8Array, i: number, end: number): number {
  if (bytes[i] !== QUOTE) return -1;
  i = stringEnd(bytes, i, end);
  if (i < 0) return -1;
  i = skipSpace(bytes, i, end);
  if (i >= end || bytes[i] !== COLON) return -1;
  i = skipSpace(bytes, i + 1, end);
  return i < end ? i : -1;
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}

/** At a `"`: the index after the closing quote, or -1 (a control character or a bad escape). */
function stringEnd(bytes: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = bytes[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      if (i + 1 >= end) return -1;
      const e = bytes[i + 1]!;
      if (e === 0x75 /* u */) {
        if (i + 5 >= end) return -1;
        if (!isHex(bytes[i + 2]) || !isHex(bytes[i + 3]) || !isHex(bytes[i + 4]) || !isHex(bytes[i + 5]))
          return -1;
        i += 6;
        continue;
      }
      // \" \\ \/ \b \f \n \r \t
      if (
        e !== QUOTE &&
        e !== BACKSLASH &&
        e !== 0x2f &&
        e !== 0x62 &&
        e !== 0x66 &&
        e !== 0x6e &&
        e !== 0x72 &&
        e !== 0x74
      )
        return -1;
      i += 2;
      continue;
    }
    if (c < 0x20) return -1;
    i++;
  }
  return -1;
}

/** The end of the digits from `i`, which must hold at least one, or -1. */
function digitsEnd(bytes: Uint8Array, i: number, end: number): number {
  const first = i;
  while (i < end && bytes[i]! >= DIGIT_0 && bytes[i]! <= DIGIT_9) i++;
  return i > first ? i : -1;
}

/** At a `-` or digit: the index after the number, or -1. `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?` */
function numberEnd(bytes: Uint8Array, i: number, end: number): number {
  if (bytes[i] === MINUS) i++;
  if (i >= end) return -1;
  if (bytes[i] === DIGIT_0) i++;
  else {
    i = digitsEnd(bytes, i, end);
    if (i < 0) return -1;
  }
  if (i < end && bytes[i] === DOT) {
    i = digitsEnd(bytes, i + 1, end);
    if (i < 0) return -1;
  }
  if (i < end && (bytes[i] === 0x65 || bytes[i] === 0x45) /* e E */) {
    i++;
    if (i < end && (bytes[i] === PLUS || bytes[i] === MINUS)) i++;
    i = digitsEnd(bytes, i, end);
  }
  return i;
}

/** At `true`, `false` or `null` (first byte `c`): the index after it, or -1. */
function literalEnd(bytes: Uint8Array, i: number, end: number, c: number): number {
  const word = c === 0x74 ? TRUE : c === 0x66 ? FALSE : c === 0x6e ? NULL : undefined;
  if (word === undefined || i + word.length > end) return -1;
  for (let k = 1; k < word.length; k++) if (bytes[i + k] !== word[k]) return -1;
  return i + word.length;
}
