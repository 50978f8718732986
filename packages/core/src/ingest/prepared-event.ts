import type { RawEvent } from "./raw-event.js";

/** Size of the shared buffers prepared events' bytes are written into. */
const SLAB_BYTES = 64 * 1024;
/** Texts longer than this get a buffer of their own, so a survivor never pins much of a shared one. */
const OWN_BUFFER_CHARS = SLAB_BYTES / 16;

let slab: Buffer = Buffer.allocUnsafe(0);
let slabOffset = 0;

/**
 * What `EventBus.prepare` returns: a {@link RawEvent} that also carries its UTF-8 bytes, encoded once
 * into shared buffers outside the JS heap. Ingesting it queues it by reference, with no encoding and no
 * copy: a batch of prepared events hands its texts as they are to an adapter that reads texts, and
 * gathers their bytes only for one that asks for bytes. Prepare events you ingest more than once or
 * ahead of time; for a one-shot event `ingest(value)` is better, as its queued bytes cost the heap
 * nothing. Only an instance of this class counts as prepared: a copy of the object (`{ ...event }`, a
 * deserialized one) is a plain RawEvent again, whose text is encoded at ingest.
 */
export class PreparedEvent implements RawEvent {
  /** @internal The buffer holding the UTF-8 bytes of `json`, from {@link offset}. */
  readonly slab: Buffer;
  /** @internal Where the bytes start in {@link slab}. */
  readonly offset: number;
  /** @internal Their length. No view object is kept per event: queueing one reads this object only. */
  readonly byteLength: number;
  /** @internal `json.length`, kept here so queueing never touches the string itself (cold memory). */
  readonly units: number;
  /**
   * @internal The hash's halves, small integers stored in the object itself. A 32-bit hash is a
   * separate heap number that a pool of prepared events keeps far from the event (measured: one cache
   * miss per ingest, 2–3× the cost of the rest of `ingestRaw`); see {@link routingHash}.
   */
  readonly hashHigh: number;
  readonly hashLow: number;

  /** @param json a text from `JSON.stringify`, hence well-formed. */
  constructor(
    readonly json: string,
    readonly hash: number,
    readonly keyed: boolean,
  ) {
    this.units = json.length;
    this.hashHigh = hash >>> 16;
    this.hashLow = hash & 0xffff;
    if (json.length > OWN_BUFFER_CHARS) {
      this.slab = Buffer.from(json, "utf8");
      this.offset = 0;
      this.byteLength = this.slab.length;
      return;
    }
    if (slab.length - slabOffset < json.length * 3) {
      slab = Buffer.allocUnsafe(SLAB_BYTES);
      slabOffset = 0;
    }
    this.slab = slab;
    this.offset = slabOffset;
    this.byteLength = slab.write(json, slabOffset, "utf8");
    slabOffset += this.byteLength;
  }

  /** @internal `hash` as an unsigned 32-bit number, read from the object itself (see `hashHigh`). */
  get routingHash(): number {
    return this.hashHigh * 0x10000 + this.hashLow;
  }

  /** @internal The UTF-8 bytes of `json` (a view made on each call). */
  get utf8(): Uint8Array {
    return this.slab.subarray(this.offset, this.offset + this.byteLength);
  }

  /** The event itself when it was prepared by a bus; undefined for any other RawEvent. */
  static of(event: RawEvent): PreparedEvent | undefined {
    // instanceof is a prototype check that V8 inlines; a private-field brand check is not, on Node 20.
    return event instanceof PreparedEvent ? event : undefined;
  }
}
