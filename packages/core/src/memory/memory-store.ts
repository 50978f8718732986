import type { StoredEvent } from "../contract/adapter.js";
import { formatMessageId } from "../contract/batch.js";
import { MemoryGroups } from "./memory-coordinator.js";

/**
 * The stored events of one shard, in parallel arrays (one slot per event, no object per event until
 * it is read). Ids are the 1-based position of the entry in the shard's history, so ids stay stable
 * when old entries are trimmed.
 */
class ShardLog {
  private texts: string[] = [];
  private stamps: number[] = [];
  private producers: string[] = [];
  private sequences: number[] = [];
  /** Index of the first retained entry in the arrays (entries before it are trimmed). */
  private start = 0;
  /** Entries removed from the arrays by compaction: `texts[i]` has id `base + i + 1`. */
  private base = 0;
  /** Next expected sequence per producer: the dedup high-water mark. */
  private readonly nextSequence = new Map<string, number>();

  get length(): number {
    return this.texts.length - this.start;
  }

  append(
    producer: string,
    firstSequence: number,
    texts: readonly string[],
    stamps: ArrayLike<number>,
  ): number {
    // The bus sends each (producer, shard) in sequence order, so a retried or replayed batch overlaps
    // the high-water mark exactly: skip what is already stored, keep the rest.
    const seen = this.nextSequence.get(producer) ?? 0;
    const skip = Math.min(texts.length, Math.max(0, seen - firstSequence));
    for (let i = skip; i < texts.length; i++) {
      this.texts.push(texts[i]!);
      this.stamps.push(stamps[i]!);
      this.producers.push(producer);
      this.sequences.push(firstSequence + i);
    }
    this.nextSequence.set(producer, Math.max(seen, firstSequence + texts.length));
    return texts.length - skip;
  }

  trimTo(maxLength: number): void {
    const excess = this.length - maxLength;
    if (excess <= 0) return;
    this.texts.fill(undefined as unknown as string, this.start, this.start + excess);
    this.start += excess;
    // Compact only when the dead prefix dominates, so trimming costs O(1) amortised per event.
    if (this.start >= 1024 && this.start * 2 >= this.texts.length) {
      const dead = this.start;
      this.texts.splice(0, dead);
      this.stamps.splice(0, dead);
      this.producers.splice(0, dead);
      this.sequences.splice(0, dead);
      this.base += dead;
      this.start = 0;
    }
  }

  /** Entries with id > `afterId`, at most `limit`; `hasMore` tells whether more follow. */
  read(shard: number, afterId: number, limit: number): { events: StoredEvent[]; hasMore: boolean } {
    const start = Math.max(this.start, afterId - this.base);
    const end = Math.min(this.texts.length, start + limit);
    const events: StoredEvent[] = [];
    for (let i = start; i < end; i++) {
      events.push({
        id: String(this.base + i + 1),
        shard,
        timestamp: this.stamps[i]!,
        json: this.texts[i]!,
        messageId: formatMessageId(this.producers[i]!, shard, this.sequences[i]!),
      });
    }
    return { events, hasMore: end < this.texts.length };
  }
}

/**
 * The data behind one or more `MemoryAdapter`s: it outlives any adapter instance, as a real backend
 * outlives a connection, so a second adapter over the same store reads what the first one wrote
 * (after a bus shut down, in a consumer, in a test).
 */
export class MemoryStore {
  private readonly logs = new Map<number, ShardLog>();
  /** @internal Consumer-group leases, members and checkpoints (see `MemoryAdapter.coordination`). */
  readonly groups = new MemoryGroups();
  /** Streaming readers waiting for the next append to a shard. */
  private readonly waiters = new Map<number, Set<() => void>>();

  /** @internal Appends a batch with per-producer dedup; returns how many events were new. */
  append(
    shard: number,
    producer: string,
    firstSequence: number,
    texts: readonly string[],
    stamps: ArrayLike<number>,
    maxLength: number | undefined,
  ): number {
    let log = this.logs.get(shard);
    if (log === undefined) {
      log = new ShardLog();
      this.logs.set(shard, log);
    }
    const added = log.append(producer, firstSequence, texts, stamps);
    if (maxLength !== undefined) log.trimTo(maxLength);
    if (added > 0) this.notify(shard);
    return added;
  }

  /**
   * @internal Resolves at the next append to `shard` that stores something, or when `signal` aborts.
   * Register it synchronously after a read that came back empty, so no append can slip in between.
   */
  nextAppend(shard: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiters.get(shard);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(shard, set);
      }
      const waiters = set;
      const wake = () => {
        waiters.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  private notify(shard: number): void {
    const set = this.waiters.get(shard);
    if (set === undefined || set.size === 0) return;
    for (const wake of [...set]) wake();
  }

  /** @internal Reads a page of one shard. */
  read(shard: number, afterId: number, limit: number): { events: StoredEvent[]; hasMore: boolean } {
    return this.logs.get(shard)?.read(shard, afterId, limit) ?? { events: [], hasMore: false };
  }

  /** Shard ids that have stored at least one event, ascending. */
  shardIds(): number[] {
    return [...this.logs.keys()].sort((a, b) => a - b);
  }

  /** Number of events currently retained for a shard. */
  size(shard: number): number {
    return this.logs.get(shard)?.length ?? 0;
  }

  /** Number of events retained over all shards. */
  totalSize(): number {
    let sum = 0;
    for (const log of this.logs.values()) sum += log.length;
    return sum;
  }

  /** Drops every stored event. */
  clear(): void {
    this.logs.clear();
  }
}
