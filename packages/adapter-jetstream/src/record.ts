import type { Msg } from "@nats-io/nats-core";
import type { StoredEvent } from "@netmesh/core/adapter";
import { MSG_ID_HEADER, TIMESTAMP_HEADER } from "./naming.js";

/** A stored message read back: an event, a corrupt record to skip, or one that must stop the read. */
export type DecodedRecord =
  | { readonly kind: "event"; readonly event: StoredEvent }
  | { readonly kind: "corrupt"; readonly reason: string }
  | { readonly kind: "fatal"; readonly reason: string };

/** `{producer}:{shard}:{sequence}` with any decimal shard, so an out-of-range one can be named. */
const MESSAGE_ID = /^[0-9a-f]{16}:(0|[1-9]\d*):(0|[1-9]\d*)$/;
const LARGEST_SHARD = 0xffff;

// fatal: invalid UTF-8 is corruption, not something to patch with U+FFFD; ignoreBOM: a leading
// U+FEFF is part of the event's text and must survive.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

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
export function decodeRecord(msg: Msg, shard: number, id: string): DecodedRecord {
  const headers = msg.headers;
  const messageId = headers?.get(MSG_ID_HEADER) ?? "";
  const match = MESSAGE_ID.exec(messageId);
  if (match === null) {
    return { kind: "corrupt", reason: messageId === "" ? "no message id header" : "malformed message id" };
  }
  const idShard = Number(match[1]);
  if (idShard > LARGEST_SHARD) {
    return { kind: "fatal", reason: `message id ${messageId} names shard ${match[1]}, beyond 65535` };
  }
  if (idShard !== shard) {
    return { kind: "fatal", reason: `message id ${messageId} names shard ${idShard}, not ${shard}` };
  }
  const stamp = headers?.get(TIMESTAMP_HEADER) ?? "";
  const timestamp = Number(stamp);
  if (stamp === "" || !Number.isFinite(timestamp)) {
    return { kind: "corrupt", reason: `no numeric ${TIMESTAMP_HEADER} header` };
  }
  let json: string;
  try {
    json = utf8.decode(msg.data);
  } catch {
    return { kind: "corrupt", reason: "payload is not UTF-8" };
  }
  try {
    JSON.parse(json);
  } catch {
    return { kind: "corrupt", reason: json === "" ? "empty payload" : "payload is not JSON" };
  }
  return { kind: "event", event: { id, shard, timestamp, json, messageId } };
}
