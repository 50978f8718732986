import { SerializationError } from "@netmesh/core/adapter";
import { HEADER_ALLOWANCE } from "./naming.js";

/** Size of the buffers small payloads are written into. */
const SLAB_BYTES = 256 * 1024;
/** Texts that may need more than this go into a buffer of their own. */
const LARGE_TEXT_BYTES = SLAB_BYTES / 4;

interface WellFormed {
  isWellFormed(): boolean;
}

/**
 * Encodes event texts to UTF-8 once each, into shared slabs: one allocation per 256 KiB instead of one
 * per event, and `Buffer.write` into room already there rather than an allocating encode. A slab is
 * never written twice: the client keeps references to the bytes until they are on the socket, so each
 * payload owns its region, and a slab is garbage once its messages are sent.
 */
export class PayloadEncoder {
  private slab: Buffer = Buffer.allocUnsafe(0);
  private offset = 0;

  /**
   * The UTF-8 bytes of the events `from` to `to` (exclusive), each checked against the server's
   * `maxPayload`. Throws a {@link SerializationError} naming the first event that cannot be stored:
   * one that would not fit a message, or one holding a lone surrogate (UTF-8 cannot carry it, so it
   * would not read back as written).
   */
  encodeAll(events: readonly string[], from: number, to: number, maxPayload: number): Buffer[] {
    const payloads = new Array<Buffer>(to - from);
    const limit = maxPayload - HEADER_ALLOWANCE;
    for (let i = from; i < to; i++) {
      const text = events[i]!;
      if (typeof text !== "string" || !(text as unknown as WellFormed).isWellFormed()) {
        throw new SerializationError(
          `event ${i} is not a well-formed string (a lone surrogate cannot be stored as UTF-8)`,
        );
      }
      const bytes = this.encode(text);
      if (bytes.length > limit) {
        throw new SerializationError(
          `event ${i} is ${bytes.length} bytes; this server takes at most ${limit} (max_payload ${maxPayload} less ${HEADER_ALLOWANCE} for headers)`,
        );
      }
      payloads[i - from] = bytes;
    }
    return payloads;
  }

  /** The bytes of a text known to be ASCII (a header block), from the same slabs. */
  ascii(text: string): Buffer {
    return this.write(text, text.length, "latin1");
  }

  private encode(text: string): Buffer {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes (a surrogate pair: 2 units, 4 bytes).
    return this.write(text, text.length * 3, "utf8");
  }

  private write(text: string, worst: number, encoding: "utf8" | "latin1"): Buffer {
    if (worst > LARGE_TEXT_BYTES) return Buffer.from(text, encoding);
    if (this.slab.length - this.offset < worst) {
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.offset = 0;
    }
    const start = this.offset;
    this.offset += this.slab.write(text, start, encoding);
    return this.slab.subarray(start, this.offset);
  }
}
