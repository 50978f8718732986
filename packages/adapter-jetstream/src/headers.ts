import { MsgHdrsImpl } from "@nats-io/nats-core";
import { MSG_ID_HEADER, TIMESTAMP_HEADER } from "./naming.js";

const START = `NATS/1.0\r\n${MSG_ID_HEADER}: `;
const MIDDLE = `\r\n${TIMESTAMP_HEADER}: `;
const END = "\r\n\r\n";

/**
 * The header block of one event's message, in the exact wire form the client would produce for
 * `Nats-Msg-Id` and `Netmesh-Ts`. Both values are ASCII by construction (a message id is hex digits,
 * colons and decimals; a timestamp is a decimal number), so the block can be written straight into a
 * byte slab, with no escaping and no validation pass.
 */
export function headerBlock(messageId: string, timestamp: number): string {
  return START + messageId + MIDDLE + String(timestamp) + END;
}

/** Longest message id: 16 hex digits, a shard of at most 5 digits, a sequence of at most 16 (2^53 - 1). */
export const MAX_MESSAGE_ID_CHARS = 16 + 1 + 5 + 1 + 16;
/** Longest timestamp text: a safe integer with its sign, `-9007199254740991`. */
export const MAX_TIMESTAMP_CHARS = String(-Number.MAX_SAFE_INTEGER).length;

/**
 * The most header bytes one message carries: the block of {@link headerBlock} for the longest message
 * id and timestamp the contract allows (97 bytes). The server counts headers and payload together
 * against `max_payload`, and nothing else the adapter sends (the subject, the reply subject) counts,
 * so `max_payload - MAX_HEADER_BYTES` is the largest event every message can carry.
 */
export const MAX_HEADER_BYTES = headerBlock("", 0).length - 1 + MAX_MESSAGE_ID_CHARS + MAX_TIMESTAMP_CHARS;

/**
 * Headers whose wire bytes were encoded up front. The client encodes a message's headers by calling
 * `encode()` when it publishes; the stock `headers()` object builds a map, validates every value with a
 * regular expression and encodes a fresh string per message, a large share of the publish cost at
 * 100k messages/s. This subclass hands over the bytes it was made with instead. It carries exactly one
 * message's headers to one `publish` call, inside this package, and is never read or changed after.
 */
export class EncodedHeaders extends MsgHdrsImpl {
  constructor(private readonly bytes: Uint8Array) {
    super();
  }

  override encode(): Uint8Array {
    return this.bytes;
  }

  override toString(): string {
    return Buffer.from(this.bytes).toString("latin1");
  }
}
