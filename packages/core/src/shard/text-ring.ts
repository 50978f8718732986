import type { EventSource, ShardRing, TextRun } from "./shard-ring.js";

/**
 * A ring that queues JSON strings by reference, for an adapter that reads texts (`payload: "text"`,
 * e.g. the memory store, which keeps strings): nothing is encoded on the way, and `batch.bytes()` is
 * computed only if such an adapter asks for it. Sizes are UTF-16 code units: `text.length`, known
 * without a scan (counting UTF-8 bytes would cost as much as encoding). Texts and timestamps live in
 * preallocated parallel arrays, so a push allocates nothing.
 */
export class TextRing implements ShardRing {
  readonly capacity: number;
  readonly byteCapacity: number;
  readonly unit = "units";
  private readonly mask: number;
  private readonly texts: (string | undefined)[];
  /** Each slot's size in units, so taking and evicting never touch the strings themselves. */
  private readonly sizes: Uint32Array;
  private readonly stamps: Float64Array;
  /** The text {@link stage} was last given (kept until the next stage: one string at most). */
  private staged = "";
  private head = 0;
  private tail = 0;
  private count = 0;
  private queuedUnits = 0;

  /**
   * @param capacity a power of two ≥ 2 (validated by the config).
   * @param unitCapacity UTF-16 code units of queued texts at most (validated by the config).
   */
  constructor(capacity: number, unitCapacity: number) {
    this.capacity = capacity;
    this.byteCapacity = unitCapacity;
    this.mask = capacity - 1;
    this.texts = new Array<string | undefined>(capacity).fill(undefined);
    this.sizes = new Uint32Array(capacity);
    this.stamps = new Float64Array(capacity);
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.queuedUnits;
  }

  hasRoom(size: number): boolean {
    return this.count < this.capacity && this.queuedUnits + size <= this.byteCapacity;
  }

  stage(event: EventSource): number {
    if (typeof event === "string") {
      this.staged = event;
      return event.length;
    }
    this.staged = event.json;
    return event.units;
  }

  commit(size: number, timestamp: number): void {
    const slot = this.tail;
    this.texts[slot] = this.staged;
    this.sizes[slot] = size;
    this.stamps[slot] = timestamp;
    this.tail = (slot + 1) & this.mask;
    this.count++;
    this.queuedUnits += size;
  }

  evictOldest(): boolean {
    if (this.count === 0) return false;
    const slot = this.head;
    this.queuedUnits -= this.sizes[slot]!;
    this.texts[slot] = undefined;
    this.head = (slot + 1) & this.mask;
    this.count--;
    return true;
  }

  oldestTimestamp(): number | undefined {
    return this.count === 0 ? undefined : this.stamps[this.head];
  }

  /** Removes the `count` oldest events (clamped to the length); one allocation per batch, none per event. */
  take(count: number): TextRun | undefined {
    const n = Math.min(count, this.count);
    if (n <= 0) return undefined;
    const texts = new Array<string>(n);
    const timestamps = new Float64Array(n);
    // The queue is at most two contiguous segments: [head, end of arrays) and then [0, ...).
    const head = this.head;
    const first = Math.min(n, this.capacity - head);
    const { sizes } = this;
    let units = 0;
    for (let i = 0; i < first; i++) {
      texts[i] = this.texts[head + i] as string;
      units += sizes[head + i]!;
    }
    this.texts.fill(undefined, head, head + first);
    timestamps.set(this.stamps.subarray(head, head + first), 0);
    const wrapped = n - first;
    if (wrapped > 0) {
      for (let i = 0; i < wrapped; i++) {
        texts[first + i] = this.texts[i] as string;
        units += sizes[i]!;
      }
      this.texts.fill(undefined, 0, wrapped);
      timestamps.set(this.stamps.subarray(0, wrapped), first);
    }
    this.head = (head + n) & this.mask;
    this.count -= n;
    this.queuedUnits -= units;
    return { kind: "text", texts, timestamps };
  }

  release(_run: TextRun): void {
    // Strings are the garbage collector's: nothing to hand back.
  }

  clear(): number {
    const n = this.count;
    this.take(n);
    return n;
  }
}
