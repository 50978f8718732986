/** What the reader does with one record of its bus shard. */
export type Verdict = "deliver" | "duplicate" | "orphan";

/** Recent `PutRecords` calls tracked per producer: a record only needs its own call's predecessor. */
const TRACKED_REQUESTS = 8;
/** How often (in records) expired producers are dropped from memory. */
const PRUNE_EVERY = 4_096;

interface ProducerState {
  /** Highest sequence delivered. */
  last: number;
  /** Arrival time (ms) of the producer's latest record. */
  lastArrival: number;
  /** Recent calls as [request id, index of the last valid record seen], oldest first. */
  readonly requests: [number, number][];
}

/**
 * The reader's dedup decisions for one bus shard, record by record in stream order. Two rules:
 *
 * 1. **Validity (order despite partial failures).** A record at index `k > 0` of a `PutRecords` call is
 *    valid only if the record at index `k − 1` of the same call was seen, valid, just before it among
 *    that call's records. Kinesis stores a call's successful records of one shard in call order, so a
 *    record whose predecessor in its call failed is an *orphan*: the writer resends from the failed
 *    record on in a new call, and the orphan's copy in that call is the one read. Index 0 is always
 *    valid. Validity never needs history older than the call itself.
 * 2. **Dedup (exactly once despite retries).** Sequences are gap-free and increasing per (producer,
 *    bus shard), and a writer only starts a call after everything before it is stored: so a valid
 *    record whose sequence is not above the producer's highest delivered one is a retry's copy, and
 *    dropped. Delivered sequences therefore strictly increase per producer.
 *
 * A producer's state expires `windowMs` after its latest record (by arrival time), which bounds memory
 * and is what `dedupWindowMs` promises: copies stored within the window of each other are read once.
 */
export class DedupState {
  private readonly producers = new Map<string, ProducerState>();
  private sincePrune = 0;

  constructor(private readonly windowMs: number) {}

  /** The verdict on the next record in stream order (which it also records). */
  decide(producer: string, sequence: number, request: number, index: number, arrivalMs: number): Verdict {
    if (++this.sincePrune >= PRUNE_EVERY) this.prune(arrivalMs);
    let state = this.producers.get(producer);
    if (state !== undefined && state.lastArrival < arrivalMs - this.windowMs) state = undefined;
    if (state === undefined) {
      state = { last: -1, lastArrival: arrivalMs, requests: [] };
      this.producers.set(producer, state);
    }
    state.lastArrival = Math.max(state.lastArrival, arrivalMs);
    const slot = state.requests.findIndex(([id]) => id === request);
    if (index > 0 && (slot === -1 || state.requests[slot]![1] !== index - 1)) return "orphan";
    if (slot === -1) {
      if (state.requests.length >= TRACKED_REQUESTS) state.requests.shift();
      state.requests.push([request, index]);
    } else {
      state.requests[slot]![1] = index;
    }
    if (sequence <= state.last) return "duplicate";
    state.last = sequence;
    return "deliver";
  }

  /** Producers tracked now (for tests). */
  get size(): number {
    return this.producers.size;
  }

  private prune(nowMs: number): void {
    this.sincePrune = 0;
    for (const [producer, state] of this.producers) {
      if (state.lastArrival < nowMs - this.windowMs) this.producers.delete(producer);
    }
  }
}
