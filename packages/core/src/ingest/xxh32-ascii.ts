const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

/** Char codes of the text ORed together by {@link lane}: above 0x7f means "not ASCII". */
let seen = 0;

/** Four chars as a little-endian 32-bit word (their bytes, when they are ASCII). */
function lane(text: string, at: number): number {
  const c0 = text.charCodeAt(at);
  const c1 = text.charCodeAt(at + 1);
  const c2 = text.charCodeAt(at + 2);
  const c3 = text.charCodeAt(at + 3);
  seen |= c0 | c1 | c2 | c3;
  return c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
}

/**
 * XXH32 of an ASCII string's bytes, in plain JavaScript. For short keys this beats the WebAssembly
 * hasher, whose cost is dominated by encoding the string and crossing into wasm. Returns -1 when the
 * text has a non-ASCII character (its UTF-8 bytes differ from its char codes); the caller then falls
 * back to the wasm hasher. Results are identical to XXH32 (checked against it by property tests).
 */
export function xxh32Ascii(text: string, seed: number): number {
  const length = text.length;
  let offset = 0;
  seen = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    for (const limit = length - 16; offset <= limit; offset += 16) {
      const a = lane(text, offset);
      const b = lane(text, offset + 4);
      const c = lane(text, offset + 8);
      const d = lane(text, offset + 12);
      v1 = round(v1, a);
      v2 = round(v2, b);
      v3 = round(v3, c);
      v4 = round(v4, d);
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME5) | 0;
  }
  h = (h + length) | 0;
  for (; offset + 4 <= length; offset += 4) {
    const word = lane(text, offset);
    h = Math.imul(rotl((h + Math.imul(word, PRIME3)) | 0, 17), PRIME4);
  }
  for (; offset < length; offset++) {
    const byte = text.charCodeAt(offset);
    seen |= byte;
    h = Math.imul(rotl((h + Math.imul(byte, PRIME5)) | 0, 11), PRIME1);
  }
  if (seen > 0x7f) return -1;
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}
