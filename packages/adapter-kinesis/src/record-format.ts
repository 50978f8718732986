import { isUtf8 } from "node:buffer";

/**
 * The record format, version 1. Each Kinesis record's data is a fixed 31-byte header followed by the
 * event's JSON text in UTF-8, byte for byte as ingested:
 *
 * | offset | bytes | field                                                             |
 * | -----: | ----: | ----------------------------------------------------------------- |
 * |      0 |     1 | format version, `0x01`                                            |
 * |      1 |     8 | producer nonce (its 16 hex digits as 8 bytes)                     |
 * |      9 |     8 | sequence number within (producer, bus shard), unsigned big-endian |
 * |     17 |     8 | insertion timestamp, µs since the epoch, float64 big-endian       |
 * |     25 |     4 | request id: which `PutRecords` call carried the record            |
 * |     29 |     2 | the record's index within that call                               |
 * |     31 |     … | the JSON text                                                     |
 *
 * The partition key is the bus shard as 4 lowercase hex digits. Fixed widths make the overhead exact:
 * an event of `maxEventBytes` always fits, one byte more never does.
 */
export const RECORD_VERSION = 0x01;
/** Bytes before the JSON text. */
export const HEADER_BYTES = 31;
/** Bytes of every partition key (the bus shard in 4 hex digits). */
export const PARTITION_KEY_BYTES = 4;
/** What one record costs beyond its JSON text, against the stream's record limit. */
export const RECORD_OVERHEAD_BYTES = HEADER_BYTES + PARTITION_KEY_BYTES;

const SAFE_HIGH_WORD = 2 ** 21; // sequences are safe integers: below 2^53

/** The partition key of a bus shard: `"0000"` … `"fffe"`. */
export function partitionKeyOf(shard: number): string {
  return shard.toString(16).padStart(4, "0");
}

/** What goes into one record's header. */
export interface RecordHeader {
  /** The producer nonce as 8 bytes. */
  readonly producer: Uint8Array;
  /** Sequence number of the event within (producer, bus shard). */
  readonly sequence: number;
  /** Insertion timestamp, µs since the epoch. */
  readonly timestamp: number;
  /** Id of the `PutRecords` call (any 32-bit value; unique among a producer's recent calls). */
  readonly request: number;
  /** Index of the record within that call. */
  readonly index: number;
}

/** Writes a header at `offset` of `target` (which must have {@link HEADER_BYTES} bytes of room there). */
export function writeHeader(target: Buffer, offset: number, header: RecordHeader): void {
  target[offset] = RECORD_VERSION;
  target.set(header.producer, offset + 1);
  target.writeUInt32BE(Math.floor(header.sequence / 2 ** 32), offset + 9);
  target.writeUInt32BE(header.sequence >>> 0, offset + 13);
  target.writeDoubleBE(header.timestamp, offset + 17);
  target.writeUInt32BE(header.request >>> 0, offset + 25);
  target.writeUInt16BE(header.index, offset + 29);
}

/** A record decoded: everything the reader's dedup and the returned event need. */
export interface DecodedRecord {
  /** Producer nonce, 16 lowercase hex digits. */
  readonly producer: string;
  /** Sequence number within (producer, bus shard). */
  readonly sequence: number;
  /** Insertion timestamp, µs since the epoch. */
  readonly timestamp: number;
  /** Id of the `PutRecords` call that carried the record. */
  readonly request: number;
  /** Index of the record within that call. */
  readonly index: number;
  /** The event's JSON text. */
  readonly json: string;
}

/** A decoded record, or why the data is not a record this adapter wrote. */
export type DecodeResult =
  | { readonly ok: true; readonly record: DecodedRecord }
  | { readonly ok: false; readonly reason: string };

/**
 * Decodes one record's data. Anything that the adapter could not have written (another format, a
 * sequence beyond 2^53, a non-finite timestamp, text that is not UTF-8) is refused with a reason, so the
 * reader can skip it with a warning instead of returning garbage.
 */
export function decodeRecord(data: Uint8Array): DecodeResult {
  if (data.byteLength < HEADER_BYTES)
    return { ok: false, reason: `${data.byteLength} bytes: shorter than the header` };
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (bytes[0] !== RECORD_VERSION)
    return { ok: false, reason: `unknown record format 0x${bytes[0]!.toString(16)}` };
  const producer = bytes.toString("hex", 1, 9);
  if (producer === "0000000000000000") return { ok: false, reason: "producer nonce is all zeros" };
  const high = bytes.readUInt32BE(9);
  if (high >= SAFE_HIGH_WORD) return { ok: false, reason: "sequence beyond 2^53" };
  const sequence = high * 2 ** 32 + bytes.readUInt32BE(13);
  const timestamp = bytes.readDoubleBE(17);
  if (!Number.isFinite(timestamp)) return { ok: false, reason: "timestamp is not finite" };
  const text = bytes.subarray(HEADER_BYTES);
  if (!isUtf8(text)) return { ok: false, reason: "JSON text is not valid UTF-8" };
  return {
    ok: true,
    record: {
      producer,
      sequence,
      timestamp,
      request: bytes.readUInt32BE(25),
      index: bytes.readUInt16BE(29),
      json: text.toString("utf8"),
    },
  };
}
