import { FatalError, MAX_SHARD_ID } from "@netmesh/core/adapter";
import { MAX_HEADER_BYTES } from "./headers.js";
import { shardSubject } from "./naming.js";

/**
 * Bytes a file-stored message takes besides its subject, headers and payload (nats-server's record:
 * 22 bytes of fixed fields, 4 of header length, an 8-byte hash). A stream's `max_bytes` counts each
 * message as this plus its subject, headers and payload (measured against nats-server 2.9.10).
 */
const STORED_OVERHEAD_BYTES = 34;

/**
 * The largest event every message of the adapter can carry and its streams keep: `max_payload` less
 * the most header bytes (see `MAX_HEADER_BYTES`), and, with a `maxBytes` stream limit, that budget less
 * what the server counts besides the payload for the longest subject of the prefix. A message larger
 * than a stream's whole `max_bytes` is acknowledged and at once discarded with everything before it,
 * so such an event is refused (`tooLarge`) instead of being lost silently.
 */
export function maxEventBytesFor(prefix: string, maxPayload: number, maxBytes: number | undefined): number {
  const byPayload = maxPayload - MAX_HEADER_BYTES;
  if (maxBytes === undefined) return byPayload;
  const subject = shardSubject(prefix, MAX_SHARD_ID).length;
  return Math.min(byPayload, maxBytes - STORED_OVERHEAD_BYTES - MAX_HEADER_BYTES - subject);
}

/** Refuses a `maxBytes` that leaves no room for an event (see {@link maxEventBytesFor}). */
export function checkRoomForEvents(prefix: string, maxBytes: number | undefined): void {
  const room = maxEventBytesFor(prefix, Number.POSITIVE_INFINITY, maxBytes);
  if (room < 1) {
    const least = (maxBytes ?? 0) - room + 1;
    throw new FatalError(
      `maxBytes (${String(maxBytes)}) leaves no room for an event: it must be at least ${least}`,
    );
  }
}
