import type { StoredEvent } from "@netmesh/core/adapter";
import { isJsonText } from "./json-check.js";
import { MSG_ID_HEADER, TIMESTAMP_HEADER } from "./naming.js";
import { type HeaderView, headersOf } from "./raw-headers.js";

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

/** A stored message read back: an event, a corrupt record to skip, or one that must stop the read. */
export type DecodedRecord =
  | { readonly kind: "event"; readonly event: StoredEvent }
  | { readonly kind: "corrupt"; readonly reason: string }
  | { readonly kind: "fatal"; readonly reason: string };

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

/**
 * The payload as text, throwing when it is not UTF-8. A client message's payload is decoded straight
 * from the bytes the client received (no view object, no fatal decoder): a decode that replaced nothing
 * (no U+FFFD in the text) was of valid UTF-8; a text holding U+FFFD, which valid UTF-8 can also spell,
 * is decoded again strictly. A leading U+FEFF is kept, as the strict decoder keeps it.
 */
function payloadText(msg: StoredMessage): string {
  const internals = msg as { _msg?: { hdr?: unknown }; _rdata?: unknown };
  const raw = internals._rdata;
  const hdr = internals._msg?.hdr;
  if (Buffer.isBuffer(raw) && typeof hdr === "number") {
    const text = raw.toString("utf8", Math.max(hdr, 0));
    if (!text.includes("\uFFFD")) return text;
  }
  return utf8.decode(msg.data);
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
  headers: HeaderView | undefined = headersOf(msg),
): DecodedRecord {
  const written = headers?.written?.();
  const messageId = written?.messageId ?? headers?.get(MSG_ID_HEADER) ?? "";
  const idShard = shardOfMessageId(messageId);
  if (idShard === undefined) {
    return { kind: "corrupt", reason: messageId === "" ? "no message id header" : "malformed message id" };
  }
  if (idShard > LARGEST_SHARD) {
    const digits = messageId.slice(17, messageId.indexOf(":", 17));
    return { kind: "fatal", reason: `message id ${messageId} names shard ${digits}, beyond 65535` };
  }
  if (idShard !== shard) {
    return { kind: "fatal", reason: `message id ${messageId} names shard ${idShard}, not ${shard}` };
  }
  const stamp = written?.timestamp ?? headers?.get(TIMESTAMP_HEADER) ?? "";
  const timestamp = Number(stamp);
  if (stamp === "" || !Number.isFinite(timestamp)) {
    return { kind: "corrupt", reason: `no numeric ${TIMESTAMP_HEADER} header` };
  }
  let json: string;
  try {
    json = payloadText(msg);
  } catch {
    return { kind: "corrupt", reason: "payload is not UTF-8" };
  }
  if (!isJsonText(json)) {
    return { kind: "corrupt", reason: json === "" ? "empty payload" : "payload is not JSON" };
  }
  return { kind: "event", event: { id, shard, timestamp, json, messageId } };
}
