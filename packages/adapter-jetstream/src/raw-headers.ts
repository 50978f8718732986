import type { StoredMessage } from "./record.js";

/** What a read needs of a message's headers: a value by exact name, and the status code. */
export interface HeaderView {
  /** The first value of header `name` (exact name), trimmed; `""` when absent. */
  get(name: string): string;
  /** The status code of the header block (`NATS/1.0 404 …`), 0 when there is none. */
  readonly code: number;
  /**
   * When the block is exactly what the adapter writes (`NATS/1.0`, `Nats-Msg-Id`, `Netmesh-Ts`, each
   * value plain ASCII without spaces), writes its two values, read in one pass, into `into` and returns
   * true; false otherwise (then `get` reads them). Either way the values are the same.
   */
  written?(into: WrittenHeaders): boolean;
}

/** The two values of the header block the adapter writes (filled by `HeaderView.written`). */
export interface WrittenHeaders {
  messageId: string;
  timestamp: string;
}

/** The fields of the client's message class (nats.js 3.x `MsgImpl`) that hold its raw bytes. */
interface ClientMsgInternals {
  readonly _msg?: { readonly hdr?: unknown };
  readonly _rdata?: unknown;
}

const HEADER_LINE = "NATS/1.0";

/**
 * A message's headers read straight from the bytes the client received, when it is the client's own
 * message class: the client's `headers` getter decodes the whole block into a map, canonicalises and
 * validates every key and copies every value, a tenth of a read's cost for the two headers a read wants.
 * The bytes are read as the client's decoder reads them (lines split at CRLF, the key before the first
 * `:` as is, the value trimmed, the first value of a key, UTF-8), so both agree on every message. Any
 * other message (one a leader get rebuilt from JSON) is read through its `headers`.
 */
export function headersOf(msg: StoredMessage): HeaderView | undefined {
  const internals = msg as ClientMsgInternals;
  const hdr = internals._msg?.hdr;
  const raw = internals._rdata;
  if (typeof hdr !== "number" || !(raw instanceof Uint8Array)) return clientHeaders(msg);
  if (hdr < 0) return undefined;
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return new RawHeaders(bytes, Math.min(hdr, bytes.length));
}

/** The one view {@link transientHeadersOf} hands out. */
let transientView: RawHeaders | undefined;

/**
 * {@link headersOf} for a caller that reads the headers at once and keeps nothing of the view: a
 * client message's view is one object reused by every call (a read decodes every message it gets, and
 * the view would be its garbage), valid until the next call.
 */
export function transientHeadersOf(msg: StoredMessage): HeaderView | undefined {
  const internals = msg as ClientMsgInternals;
  const hdr = internals._msg?.hdr;
  const raw = internals._rdata;
  if (typeof hdr !== "number" || !Buffer.isBuffer(raw)) return headersOf(msg);
  if (hdr < 0) return undefined;
  transientView ??= new RawHeaders(raw, 0);
  transientView.reset(raw, Math.min(hdr, raw.length));
  return transientView;
}

function clientHeaders(msg: StoredMessage): HeaderView | undefined {
  const headers = msg.headers as (StoredMessage["headers"] & { code?: number }) | undefined;
  if (headers === undefined) return undefined;
  return { get: (name) => headers.get(name), code: headers.code ?? 0 };
}

const CRLF = Buffer.from("\r\n", "latin1");
/** The block the adapter writes, around its two values (see `headers.ts`). */
const WRITTEN_START = Buffer.from("NATS/1.0\r\nNats-Msg-Id: ", "latin1");
const WRITTEN_MIDDLE = Buffer.from("\r\nNetmesh-Ts: ", "latin1");
const WRITTEN_END_LENGTH = 4; // \r\n\r\n

/** True when `bytes` holds `expected` at `at`. */
function holds(bytes: Buffer, at: number, expected: Buffer): boolean {
  if (at + expected.length > bytes.length) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

/** The end of a value of visible ASCII (no space, no CR) starting at `at`: the CR after it, or -1. */
function valueEnd(bytes: Buffer, at: number, limit: number): number {
  let i = at;
  while (i < limit) {
    const b = bytes[i]!;
    if (b === 0x0d) return i > at ? i : -1;
    if (b <= 0x20 || b >= 0x7f) return -1;
    i++;
  }
  return -1;
}
/** `\r\n{name}:` as bytes, by header name (a read asks for a handful of names). */
const needles = new Map<string, Buffer>();

function needle(name: string): Buffer {
  let bytes = needles.get(name);
  if (bytes === undefined) {
    bytes = Buffer.from(`\r\n${name}:`, "utf8");
    needles.set(name, bytes);
  }
  return bytes;
}

/** A header block (`NATS/1.0[ code description]\r\nKey: value\r\n…\r\n\r\n`): bytes [0, `end`). */
class RawHeaders implements HeaderView {
  private status: number | undefined;

  constructor(
    private bytes: Buffer,
    private end: number,
  ) {}

  /** Points the view at another block (see {@link transientHeadersOf}). */
  reset(bytes: Buffer, end: number): void {
    this.bytes = bytes;
    this.end = end;
    this.status = undefined;
  }

  get code(): number {
    if (this.status === undefined) {
      const lineEnd = this.bytes.indexOf(CRLF);
      const line = this.bytes.toString("utf8", 0, lineEnd === -1 || lineEnd > this.end ? this.end : lineEnd);
      let code = 0;
      if (line !== HEADER_LINE) {
        const parsed = Number.parseInt(line.replace(HEADER_LINE, "").trim(), 10);
        code = Number.isNaN(parsed) ? 0 : parsed;
      }
      this.status = code;
    }
    return this.status;
  }

  written(into: WrittenHeaders): boolean {
    const { bytes, end } = this;
    if (!holds(bytes, 0, WRITTEN_START)) return false;
    const idStart = WRITTEN_START.length;
    const idEnd = valueEnd(bytes, idStart, end);
    if (idEnd === -1 || !holds(bytes, idEnd, WRITTEN_MIDDLE)) return false;
    const tsStart = idEnd + WRITTEN_MIDDLE.length;
    const tsEnd = valueEnd(bytes, tsStart, end);
    if (tsEnd === -1 || tsEnd + WRITTEN_END_LENGTH !== end) return false;
    if (bytes[tsEnd + 1] !== 0x0a || bytes[tsEnd + 2] !== 0x0d || bytes[tsEnd + 3] !== 0x0a) return false;
    into.messageId = bytes.toString("latin1", idStart, idEnd);
    into.timestamp = bytes.toString("latin1", tsStart, tsEnd);
    return true;
  }

  get(name: string): string {
    const key = needle(name);
    // The first line whose key is exactly `name`: CRLF, the name, a colon. (A value never holds a CRLF.)
    const at = this.bytes.indexOf(key);
    if (at === -1 || at + key.length > this.end) return "";
    const start = at + key.length;
    let stop = this.bytes.indexOf(CRLF, start);
    if (stop === -1 || stop > this.end) stop = this.end;
    return this.bytes.toString("utf8", start, stop).trim();
  }
}
