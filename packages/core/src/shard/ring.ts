/**
 * A fixed-capacity FIFO of pending events: JSON texts plus their insertion timestamps, stored in
 * preallocated parallel arrays so a push allocates nothing. Every slot is usable (capacity 4 holds 4).
 * Single-threaded by construction: only the bus pushes and only the shard's pump takes.
 */
export class EventRing {
  readonly capacity: number;
  private readonly mask: number;
  private readonly texts: (string | undefined)[];
  private readonly stamps: Float64Array;
  private head = 0;
  private tail = 0;
  private count = 0;

  /** @param capacity a power of two ≥ 2 (validated by the config). */
  constructor(capacity: number) {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.texts = new Array<string | undefined>(capacity).fill(undefined);
    this.stamps = new Float64Array(capacity);
  }

  /** Events waiting in the ring. */
  get length(): number {
    return this.count;
  }

  /** Appends one event; false (and nothing changed) when the ring is full. */
  push(text: string, timestamp: number): boolean {
    if (this.count === this.capacity) return false;
    const slot = this.tail;
    this.texts[slot] = text;
    this.stamps[slot] = timestamp;
    this.tail = (slot + 1) & this.mask;
    this.count++;
    return true;
  }

  /** Discards the oldest event; false when the ring is empty. */
  evictOldest(): boolean {
    if (this.count === 0) return false;
    this.texts[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return true;
  }

  /** Timestamp of the oldest event (undefined when empty). */
  oldestTimestamp(): number | undefined {
    return this.count === 0 ? undefined : this.stamps[this.head];
  }

  /**
   * Removes the `count` oldest events (clamped to the length) into new arrays and returns them.
   * One allocation per batch, none per event.
   */
  take(count: number): { texts: string[]; timestamps: Float64Array } {
    const n = Math.min(count, this.count);
    const texts = new Array<string>(n);
    const timestamps = new Float64Array(n);
    const first = Math.min(n, this.capacity - this.head);
    for (let i = 0; i < first; i++) texts[i] = this.texts[this.head + i] as string;
    this.texts.fill(undefined, this.head, this.head + first);
    timestamps.set(this.stamps.subarray(this.head, this.head + first), 0);
    const wrapped = n - first;
    if (wrapped > 0) {
      for (let i = 0; i < wrapped; i++) texts[first + i] = this.texts[i] as string;
      this.texts.fill(undefined, 0, wrapped);
      timestamps.set(this.stamps.subarray(0, wrapped), first);
    }
    this.head = (this.head + n) & this.mask;
    this.count -= n;
    return { texts, timestamps };
  }

  /** Removes every event and returns how many there were. */
  clear(): number {
    const n = this.count;
    this.take(n);
    return n;
  }
}
