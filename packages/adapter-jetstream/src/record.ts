import type { StoredEvent } from "@netmesh/core/adapter";
import { isJsonBytes, isJsonText } from "./json-check.js";
import { MSG_ID_HEADER, TIMESTAMP_HEADER } from "./naming.js";
import { type HeaderView, type WrittenHeaders, transientHeadersOf } from "./raw-headers.js";

/**
 * A stored message as a read gets it: a direct get's reply, a consumer's delivery (both client `Msg`s),
 * or a message the stream leader returned as JSON (see `leader-get.ts`).
 */
export interface StoredMessage {
  readonly headers?: { get(name: string): string } | undefined;
  readonly data: Uint8Array;
}

/** One stored message a read examined, with its stream sequence (as a bigint and as the server's digits). */
export interface Entry {
  readonly sequence: bigint;
  readonly id: string;
  readonly msg: StoredMessage;
  /** Its headers, when the read has already read them. */
  readonly headers?: HeaderView | undefined;
  /** The message decoded, when it was decoded as it arrived (then `msg` is not kept). */
  readonly record?: DecodedRecord;
}

/**
 * A stored message that cannot be delivered as an event: a corrupt record, skipped, or a fatal one,
 * which stops the read before it.
 */
export class RecordFault {
  constructor(
    readonly kind: "corrupt" | "fatal",
    readonly reason: string,
  ) {}
}

/**
 * A stored message read back: the event (by far the most common, so it is returned as it is, with no
 * wrapper to allocate), or a {@link RecordFault}.
 */
export type DecodedRecord = StoredEvent | RecordFault;

/**
 * The shard a message id `{producer}:{shard}:{sequence}` names (16 lowercase hex digits, then decimals
 * without sign or leading zeros; the shard of any length, so an out-of-range one can be named), or
 * `undefined` when it is not one. `/^[0-9a-f]{16}:(0|[1-9]\d*):(0|[1-9]\d*)$/`, without the regex's
 * match array and strings: it runs once per event read.
 */
export function shardOfMessageId(id: string): number | undefined {
  const n = id.length;
  if (n < 20 || id.charCodeAt(16) !== 0x3a /* : */) return undefined;
  for (let i = 0; i < 16; i++) {
    const c = id.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return undefined;
  }
  let i = 17;
  let shard = 0;
  const shardStart = i;
  for (; i < n && id.charCodeAt(i) !== 0x3a; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    shard = shard * 10 + (c - 0x30);
  }
  if (i === shardStart || i === n || (id.charCodeAt(shardStart) === 0x30 && i - shardStart > 1))
    return undefined;
  const sequenceStart = ++i;
  if (sequenceStart === n || (id.charCodeAt(sequenceStart) === 0x30 && n - sequenceStart > 1))
    return undefined;
  for (; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  return shard;
}
const LARGEST_SHARD = 0xffff;

// fatal: invalid UTF-8 is corruption, not something to patch with U+FFFD; ignoreBOM: a leading
// U+FEFF is part of the event's text and must survive.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Why a payload cannot be an event's JSON. */
interface PayloadFault {
  readonly reason: string;
}
const NOT_UTF8: PayloadFault = { reason: "payload is not UTF-8" };
const EMPTY: PayloadFault = { reason: "empty payload" };
const NOT_JSON: PayloadFault = { reason: "payload is not JSON" };

/**
 * The payload as text when it is UTF-8 and JSON, else why not. A client message's payload is decoded
 * straight from the bytes the client received (no view object, no fatal decoder): a decode that
 * replaced nothing (no U+FFFD in the text) was of valid UTF-8; a text holding U+FFFD, which valid UTF-8
 * can also spell, is decoded again strictly. A leading U+FEFF is kept, as the strict decoder keeps it.
 * Its JSON is checked on those bytes; a payload the byte check refuses is given to `JSON.parse`.
 */
function payloadJson(msg: StoredMessage): string | PayloadFault {
  const internals = msg as { _msg?: { hdr?: unknown }; _rdata?: unknown };
  const raw = internals._rdata;
  const hdr = internals._msg?.hdr;
  if (Buffer.isBuffer(raw) && typeof hdr === "number") {
    const start = Math.max(hdr, 0);
    const text = raw.toString("utf8", start);
    if (text.includes("\uFFFD") && !isUtf8(msg)) return NOT_UTF8;
    if (text.length === 0) return EMPTY;
    return isJsonBytes(raw, start, raw.length) || isJsonText(text) ? text : NOT_JSON;
  }
  let text: string;
  try {
    text = utf8.decode(msg.data);
  } catch {
    return NOT_UTF8;
  }
  if (text.length === 0) return EMPTY;
  return isJsonText(text) ? text : NOT_JSON;
}

function isUtf8(msg: StoredMessage): boolean {
  try {
    utf8.decode(msg.data);
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns one stored message of `shard`'s stream into an event. The payload is the event's JSON text,
 * byte for byte; `Nats-Msg-Id` is its message id, which also names its shard; `Netmesh-Ts` its
 * insertion timestamp.
 *
 * - Corrupt (skipped with a warning, the cursor moves past it): no or malformed message id, no or
 *   non-numeric timestamp, a payload that is empty, not UTF-8 or not JSON. Such a record was not
 *   written by this adapter, and nothing in it can be delivered as an event.
 * - Fatal (the read stops before it): a message id naming a shard above 65535, or another shard
 *   than the stream's. Delivering it would hand an event to the wrong shard's consumers.
 */
export function decodeRecord(
  msg: StoredMessage,
  shard: number,
  id: string,
  headers: HeaderView | undefined = transientHeadersOf(msg),
): DecodedRecord {
  const written = headers?.written?.(WRITTEN) === true;
  const messageId = written ? WRITTEN.messageId : (headers?.get(MSG_ID_HEADER) ?? "");
  const idShard = shardOfMessageId(messageId);
  if (idShard === undefined) {
    return new RecordFault("corrupt", messageId === "" ? "no message id header" : "malformed message id");
  }
  if (idShard > LARGEST_SHARD) {
    const digits = messageId.slice(17, messageId.indexOf(":", 17));
    return new RecordFault("fatal", `message id ${messageId} names shard ${digits}, beyond 65535`);
  }
  if (idShard !== shard) {
    return new RecordFault("fatal", `message id ${messageId} names shard ${idShard}, not ${shard}`);
  }
  const stamp = written ? WRITTEN.timestamp : (headers?.get(TIMESTAMP_HEADER) ?? "");
  const timestamp = Number(stamp);
  if (stamp === "" || !Number.isFinite(timestamp)) {
    return new RecordFault("corrupt", `no numeric ${TIMESTAMP_HEADER} header`);
  }
  const json = payloadJson(msg);
  if (typeof json !== "string") return new RecordFault("corrupt", json.reason);
  return { id, shard, timestamp, json, messageId };
}

/** Where `decodeRecord` reads the written headers' two values into (one object, read at once). */
const WRITTEN: WrittenHeaders = { messageId: "", timestamp: "" };
