/**
 * Whether `text` is one JSON text (RFC 8259, what `JSON.parse` accepts), checked without building it:
 * a read examines every payload (a record that is not JSON is skipped as corrupt), and a full
 * `JSON.parse` per event, whose result is thrown away, was the largest cost of a read, mostly in garbage
 * collection. The scan allocates nothing but its nesting stack (only past 64 levels).
 *
 * Only a `true` is trusted: callers confirm a `false` with `JSON.parse` (see `isJsonText`), so a valid
 * event can never be dropped by a fault of this scanner.
 */
export function scanJson(text: string): boolean {
  const n = text.length;
  let i = skipSpace(text, 0);
  if (i >= n) return false;
  // The open containers: 1 for an object, 2 for an array.
  let stack: Uint8Array = SMALL_STACK;
  let depth = 0;
  for (;;) {
    // A value at i.
    let c = text.charCodeAt(i);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === stack.length) {
        const grown = new Uint8Array(stack.length * 2);
        grown.set(stack);
        stack = grown;
      }
      stack[depth++] = c === 0x7b ? 1 : 2;
      i = skipSpace(text, i + 1);
      if (i >= n) return false;
      c = text.charCodeAt(i);
      if (c === (stack[depth - 1] === 1 ? 0x7d : 0x5d)) {
        depth--; // an empty container is a complete value
        i++;
      } else if (stack[depth - 1] === 1) {
        i = objectKey(text, i);
        if (i < 0) return false;
        continue;
      } else {
        continue;
      }
    } else if (c === 0x22 /* " */) {
      i = stringEnd(text, i);
      if (i < 0) return false;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      i = numberEnd(text, i);
      if (i < 0) return false;
    } else if (c === 0x74 /* t */) {
      if (!text.startsWith("true", i)) return false;
      i += 4;
    } else if (c === 0x66 /* f */) {
      if (!text.startsWith("false", i)) return false;
      i += 5;
    } else if (c === 0x6e /* n */) {
      if (!text.startsWith("null", i)) return false;
      i += 4;
    } else {
      return false;
    }
    // After a complete value: close containers, or go on to the next member or element.
    for (;;) {
      i = skipSpace(text, i);
      if (depth === 0) return i === n;
      if (i >= n) return false;
      c = text.charCodeAt(i);
      const open = stack[depth - 1];
      if (c === 0x2c /* , */) {
        i = skipSpace(text, i + 1);
        if (i >= n) return false;
        if (open === 1) {
          i = objectKey(text, i);
          if (i < 0) return false;
        }
        break; // the next value
      }
      if (c === (open === 1 ? 0x7d : 0x5d)) {
        depth--;
        i++;
        continue;
      }
      return false;
    }
  }
}

const SMALL_STACK = new Uint8Array(64);

/** `text` is JSON: the scan, and `JSON.parse` for what the scan refuses (it decides). */
export function isJsonText(text: string): boolean {
  if (scanJson(text)) return true;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function skipSpace(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** At a member's key: the index of its value (after `"key" :` and spaces), or -1. */
function objectKey(text: string, i: number): number {
  if (text.charCodeAt(i) !== 0x22) return -1;
  i = stringEnd(text, i);
  if (i < 0) return -1;
  i = skipSpace(text, i);
  if (text.charCodeAt(i) !== 0x3a /* : */) return -1;
  i = skipSpace(text, i + 1);
  return i < text.length ? i : -1;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** At a `"`: the index after the closing quote, or -1 (control characters and bad escapes refused). */
function stringEnd(text: string, i: number): number {
  const n = text.length;
  i++;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -1;
    if (c === 0x5c /* \ */) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75 /* u */) {
        if (
          !isHex(text.charCodeAt(i + 2)) ||
          !isHex(text.charCodeAt(i + 3)) ||
          !isHex(text.charCodeAt(i + 4)) ||
          !isHex(text.charCodeAt(i + 5))
        ) {
          return -1;
        }
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (
        e !== 0x22 &&
        e !== 0x5c &&
        e !== 0x2f &&
        e !== 0x62 &&
        e !== 0x66 &&
        e !== 0x6e &&
        e !== 0x72 &&
        e !== 0x74
      ) {
        return -1;
      }
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** At a number: the index after it, or -1. `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?` */
function numberEnd(text: string, i: number): number {
  if (text.charCodeAt(i) === 0x2d) i++;
  const first = text.charCodeAt(i);
  if (first === 0x30) i++;
  else if (first >= 0x31 && first <= 0x39) {
    i++;
    while (isDigit(text.charCodeAt(i))) i++;
  } else return -1;
  if (text.charCodeAt(i) === 0x2e /* . */) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}
