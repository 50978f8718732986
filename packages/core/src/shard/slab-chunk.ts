/**
 * One piece of a shard's byte slab: a Buffer outside the JS heap that events are written into back to
 * back, once, at ingest. A chunk is recycled only when nothing can read it any more: the writer has
 * moved on (`sealed`), no queued event lives in it, and no batch handed to the adapter pins it.
 */
export class SlabChunk {
  /** Queued events whose bytes are in this chunk. */
  live = 0;
  /** Batches taken from this chunk whose adapter calls have not all settled. */
  pins = 0;
  /** The writer has left the chunk: no event will be written into it again until it is recycled. */
  sealed = false;

  constructor(readonly buffer: Buffer) {}

  /** Nothing can read the chunk any more. */
  get free(): boolean {
    return this.sealed && this.live === 0 && this.pins === 0;
  }
}

/** Largest chunk the slab cuts: batches never span chunks, so this also caps a batch's bytes. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
/** Smallest chunk, so that a small `ringBytes` still packs several events per chunk. */
const MIN_CHUNK_BYTES = 16 * 1024;

/**
 * Chunk size for a ring of `ringBytes`: an eighth of it (so a partly filled chunk wastes at most that),
 * within [16 KiB, 4 MiB], and never above the ring itself.
 */
export function chunkBytesFor(ringBytes: number): number {
  return Math.min(ringBytes, Math.max(MIN_CHUNK_BYTES, Math.min(MAX_CHUNK_BYTES, Math.ceil(ringBytes / 8))));
}
