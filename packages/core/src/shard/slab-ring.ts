import type { PreparedEvent } from "../ingest/prepared-event.js";
import type { EventSource, PreparedRun, ShardRing, TakenRun } from "./shard-ring.js";
import { SlabChunk, chunkBytesFor } from "./slab-chunk.js";

const NO_BYTES = Buffer.alloc(0);

/**
 * The ring of an adapter that reads bytes (`payload: "bytes"`), bounded both in events (`capacity`)
 * and in UTF-8 bytes (`byteCapacity`). Each event is written once, as UTF-8, into a byte slab outside the JS heap (see
 * {@link SlabChunk}); the ring keeps only its offset, length and timestamp in preallocated typed arrays,
 * so a queued event costs the young generation nothing and a push allocates nothing.
 *
 * Writing is two steps: {@link stage} writes the bytes at the slab's write position (nothing changes if
 * the event is then refused, the next stage overwrites it) and {@link commit} queues them. A prepared
 * event, encoded already, is queued by reference instead (see `commitPrepared`). Batches are taken
 * as runs of one kind: slab events of one chunk (their bytes are one contiguous view, and the chunk is
 * reused only after {@link release}), or prepared events. Single-threaded by construction: only the
 * bus pushes and only the shard's pump takes.
 */
export class SlabRing implements ShardRing {
  readonly capacity: number;
  readonly byteCapacity: number;
  readonly unit = "utf8";
  private readonly mask: number;
  private readonly chunkBytes: number;
  /**
   * End offset of each queued slab event in its chunk (its start is the previous slab event's end, see
   * headStart); the byte length of a queued prepared event.
   */
  private readonly ends: Uint32Array;
  /**
   * The prepared events queued by reference, by slot (undefined for slab events); allocated on the
   * first one, so a bus that never ingests a prepared event does not pay for it.
   */
  private prepared: (PreparedEvent | undefined)[] | undefined;
  /** Queued slab events (the rest are prepared events). */
  private slabQueued = 0;
  private readonly stamps: Float64Array;
  /**
   * The chunks holding queued events, oldest first. A chunk's events are contiguous in slot order and
   * in the chunk, so `live` counts are all it takes to know which slots are in which chunk: no
   * reference per slot (12 bytes of bookkeeping per slot in all).
   */
  private readonly queue: SlabChunk[] = [];
  /** Offset of the oldest queued event in the oldest chunk. */
  private headStart = 0;
  private head = 0;
  private tail = 0;
  private count = 0;
  private queuedBytes = 0;
  /**
   * The chunk events are written into, and where the next one goes. It starts as an empty chunk, so
   * the first stage allocates a real one and an idle shard holds no slab.
   */
  private chunk = new SlabChunk(NO_BYTES);
  private writeAt = 0;
  /** One recycled chunk kept for the next switch, so a steady stream reuses warm memory. */
  private spare: SlabChunk | undefined;
  /** The prepared event {@link stage} was last given, until {@link commit} queues it. */
  private stagedPrepared: PreparedEvent | undefined;

  /**
   * @param capacity a power of two ≥ 2 (validated by the config).
   * @param byteCapacity bytes of queued events at most (validated by the config).
   */
  constructor(capacity: number, byteCapacity: number) {
    this.capacity = capacity;
    this.byteCapacity = byteCapacity;
    this.mask = capacity - 1;
    this.chunkBytes = chunkBytesFor(byteCapacity);
    this.ends = new Uint32Array(capacity);
    this.stamps = new Float64Array(capacity);
  }

  /** Events waiting in the ring. */
  get length(): number {
    return this.count;
  }

  /** UTF-8 bytes of the events waiting in the ring. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Whether an event of `length` bytes can be queued now without going over either bound. */
  hasRoom(length: number): boolean {
    return this.count < this.capacity && this.queuedBytes + length <= this.byteCapacity;
  }

  /**
   * Writes a text's UTF-8 bytes at the write position and returns their length; a prepared event
   * (encoded already) is only remembered. {@link commit} queues it. A text must be well-formed UTF-16
   * (no lone surrogate) and at most `byteCapacity` bytes.
   */
  stage(event: EventSource): number {
    if (typeof event !== "string") {
      this.stagedPrepared = event;
      return event.byteLength;
    }
    this.stagedPrepared = undefined;
    this.rewindIfEmpty();
    // At most 3 bytes per UTF-16 unit; only near a chunk's end is the exact length worth counting.
    if (event.length * 3 > this.chunk.buffer.length - this.writeAt) {
      const needed = Buffer.byteLength(event, "utf8");
      if (needed > this.chunk.buffer.length - this.writeAt) this.nextChunk(needed);
    }
    return this.chunk.buffer.write(event, this.writeAt, "utf8");
  }

  /** Queues the staged event of `length` bytes. The caller has checked {@link hasRoom}. */
  commit(length: number, timestamp: number): void {
    const prepared = this.stagedPrepared;
    if (prepared !== undefined) {
      this.stagedPrepared = undefined;
      this.commitPrepared(prepared, timestamp);
      return;
    }
    const slot = this.tail;
    const chunk = this.chunk;
    if (this.slabQueued++ === 0) this.headStart = this.writeAt;
    if (chunk.live++ === 0) this.queue.push(chunk);
    this.writeAt += length;
    this.ends[slot] = this.writeAt;
    this.stamps[slot] = timestamp;
    this.tail = (slot + 1) & this.mask;
    this.count++;
    this.queuedBytes += length;
  }

  /**
   * Queues a prepared event by reference: its bytes were encoded once by `prepare()` into memory outside
   * the JS heap, and the caller keeps the event (that is what preparing is for), so copying them would
   * only cost a pass over cold memory.
   */
  private commitPrepared(event: PreparedEvent, timestamp: number): void {
    const slot = this.tail;
    this.prepared ??= new Array<PreparedEvent | undefined>(this.capacity).fill(undefined);
    this.prepared[slot] = event;
    const length = event.byteLength;
    this.ends[slot] = length;
    this.stamps[slot] = timestamp;
    this.tail = (slot + 1) & this.mask;
    this.count++;
    this.queuedBytes += length;
  }

  /** Discards the oldest event; false when the ring is empty. A staged event is left intact. */
  evictOldest(): boolean {
    if (this.count === 0) return false;
    const slot = this.head;
    const end = this.ends[slot]!;
    this.head = (slot + 1) & this.mask;
    this.count--;
    if (this.prepared?.[slot] !== undefined) {
      this.prepared[slot] = undefined;
      this.queuedBytes -= end;
      return true;
    }
    this.queuedBytes -= end - this.headStart;
    this.headStart = end;
    this.slabQueued--;
    this.leaveChunk(1);
    return true;
  }

  /** Timestamp of the oldest event (undefined when empty). */
  oldestTimestamp(): number | undefined {
    return this.count === 0 ? undefined : this.stamps[this.head];
  }

  /**
   * Removes up to `count` oldest events as one run (fewer when the oldest events' chunk ends first) and
   * pins their chunk until {@link release}. Undefined when the ring is empty. One allocation of offsets
   * and timestamps per batch, none per event.
   */
  take(count: number): TakenRun | undefined {
    if (this.count === 0 || count <= 0) return undefined;
    const { mask, ends, stamps, prepared } = this;
    const first = this.head;
    if (prepared?.[first] !== undefined) return this.takePrepared(Math.min(count, this.count));
    const chunk = this.queue[0]!;
    let size = Math.min(count, chunk.live);
    // A run is of one kind: it stops before the first prepared event.
    if (prepared !== undefined) {
      for (let i = 1; i < size; i++) {
        if (prepared[(first + i) & mask] !== undefined) {
          size = i;
          break;
        }
      }
    }
    const base = this.headStart;
    const offsets = new Uint32Array(size + 1);
    const timestamps = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const slot = (first + i) & mask;
      offsets[i + 1] = ends[slot]! - base;
      timestamps[i] = stamps[slot]!;
    }
    const end = base + offsets[size]!;
    this.queuedBytes -= end - base;
    this.headStart = end;
    this.head = (first + size) & mask;
    this.count -= size;
    this.slabQueued -= size;
    chunk.pins++;
    this.leaveChunk(size);
    return { kind: "slab", chunk, data: chunk.buffer.subarray(base, end), offsets, timestamps };
  }

  /** Unpins a run's chunk: called once nothing (no adapter call, not even an abandoned one) reads it. */
  release(run: TakenRun): void {
    if (run.kind !== "slab") return;
    const chunk = run.chunk;
    chunk.pins--;
    if (chunk.free) this.recycle(chunk);
  }

  /** Takes up to `count` prepared events from the head, stopping before the first slab event. */
  private takePrepared(count: number): PreparedRun {
    const { mask, ends, stamps } = this;
    const prepared = this.prepared!;
    const first = this.head;
    const events: PreparedEvent[] = [];
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const slot = (first + i) & mask;
      const event = prepared[slot];
      if (event === undefined) break;
      prepared[slot] = undefined;
      events.push(event);
      bytes += ends[slot]!;
    }
    const size = events.length;
    const timestamps = new Float64Array(size);
    for (let i = 0; i < size; i++) timestamps[i] = stamps[(first + i) & mask]!;
    this.head = (first + size) & mask;
    this.count -= size;
    this.queuedBytes -= bytes;
    return { kind: "prepared", prepared: events, bytes, timestamps };
  }

  /** Removes every queued event and returns how many there were. */
  clear(): number {
    const n = this.count;
    while (this.evictOldest()) {}
    return n;
  }

  /** `count` events of the oldest chunk left the queue; a chunk with none left leaves it too. */
  private leaveChunk(count: number): void {
    const chunk = this.queue[0]!;
    chunk.live -= count;
    if (chunk.live > 0) return;
    this.queue.shift();
    // Every later chunk was started empty after this one: its first event is at offset 0.
    this.headStart = 0;
    if (chunk.free) this.recycle(chunk);
  }

  /** An empty ring whose chunk nobody reads starts writing at its beginning again (warm memory). */
  private rewindIfEmpty(): void {
    if (this.slabQueued === 0 && this.chunk.pins === 0) this.writeAt = 0;
  }

  /** Leaves the write chunk for one with room for `needed` bytes (a chunk of its own if larger). */
  private nextChunk(needed: number): void {
    const old = this.chunk;
    old.sealed = true;
    if (old.free) this.recycle(old);
    let next: SlabChunk;
    if (needed > this.chunkBytes) {
      next = new SlabChunk(Buffer.allocUnsafeSlow(needed));
    } else if (this.spare !== undefined) {
      next = this.spare;
      this.spare = undefined;
    } else {
      next = new SlabChunk(Buffer.allocUnsafeSlow(this.chunkBytes));
    }
    this.chunk = next;
    this.writeAt = 0;
  }

  /** Keeps a free chunk of the standard size as the spare; any other is left to the garbage collector. */
  private recycle(chunk: SlabChunk): void {
    if (this.spare !== undefined || chunk.buffer.length !== this.chunkBytes || chunk === this.chunk) return;
    chunk.sealed = false;
    this.spare = chunk;
  }
}
