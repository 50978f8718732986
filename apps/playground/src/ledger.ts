/**
 * What the bus told the producer about each event it was offered. This is the ground truth the
 * read-back is checked against: the bus only promises to keep events it *accepted*, so the verifier
 * must know exactly which those were.
 */

/** The bus returned `"accepted"` for the event. */
export const ACCEPTED = 1;
/** The bus refused the event (`"full"`, `"sampled"`, `"closed"`, …): it must not come back. */
export const REFUSED = 2;
/**
 * The event was part of an `ingestMany` call that accepted only some of its events, in a backpressure
 * mode that does not stop at the first refusal, so which ones were taken is unknown: it may come back.
 */
export const UNKNOWN = 3;

/** One of {@link ACCEPTED}, {@link REFUSED}, {@link UNKNOWN}. */
export type Acceptance = typeof ACCEPTED | typeof REFUSED | typeof UNKNOWN;

/** How the read-back must treat a stream. */
export interface StreamOptions {
  /** True when the stream's events share a partition key, so they must come back in `seq` order. */
  readonly ordered: boolean;
  /** The shard the key routes to (`bus.shardFor(key)`), when the stream is keyed. */
  readonly shard?: number;
  /** Free-form label carried to the report (e.g. `"chat"`, `"agent"`, `"metrics"`). */
  readonly label: string;
}

/**
 * The acceptance record of one stream of events numbered `seq = 0, 1, 2, …`: one session, or the
 * metrics heartbeats. One byte per event, so a million-event run costs about a megabyte.
 */
export class StreamLedger {
  private states = new Uint8Array(64);
  private count = 0;

  constructor(
    /** The stream's name: the session id, or the metrics source. */
    readonly name: string,
    /** Position of the stream in its ledger (dense, from 0). */
    readonly index: number,
    readonly options: StreamOptions,
  ) {}

  /** Number of events offered to the bus so far (the next `seq`). */
  get length(): number {
    return this.count;
  }

  /** The acceptance of event `seq`, or 0 when no such event was offered. */
  stateOf(seq: number): number {
    return seq >= 0 && seq < this.count ? this.states[seq]! : 0;
  }

  /**
   * Records the outcome of events `first … first + n - 1`. Sequence numbers are handed out in order,
   * so `first` must be the current length: a gap or a rewrite would mean the workload is broken.
   */
  record(first: number, n: number, state: Acceptance): void {
    if (first !== this.count) {
      throw new Error(`ledger ${this.name}: recording seq ${first} but ${this.count} events were recorded`);
    }
    const end = first + n;
    if (end > this.states.length) {
      const grown = new Uint8Array(Math.max(end, this.states.length * 2));
      grown.set(this.states);
      this.states = grown;
    }
    this.states.fill(state, first, end);
    this.count = end;
  }
}

/** The per-stream acceptance records of a whole run, plus the totals the verifier reconciles. */
export class Ledger {
  private readonly byName = new Map<string, StreamLedger>();
  private readonly list: StreamLedger[] = [];
  /** Events recorded {@link ACCEPTED}. */
  accepted = 0;
  /** Events recorded {@link REFUSED}. */
  refused = 0;
  /** Events recorded {@link UNKNOWN}. */
  unknown = 0;
  /** How many of the {@link UNKNOWN} events the bus accepted (it reports the count, not which). */
  unknownAccepted = 0;

  /** Opens a new stream; names must be unique. */
  open(name: string, options: StreamOptions): StreamLedger {
    if (this.byName.has(name)) throw new Error(`ledger stream ${name} opened twice`);
    const stream = new StreamLedger(name, this.list.length, options);
    this.byName.set(name, stream);
    this.list.push(stream);
    return stream;
  }

  /** The stream of that name, if any. */
  get(name: string): StreamLedger | undefined {
    return this.byName.get(name);
  }

  /** Every stream, by index. */
  get streams(): readonly StreamLedger[] {
    return this.list;
  }

  /** Events the bus accepted: the exact number that must come back when nothing was dropped. */
  get expectedAccepted(): number {
    return this.accepted + this.unknownAccepted;
  }

  /** Records that all `n` events from `first` got the same answer. */
  record(stream: StreamLedger, first: number, n: number, state: typeof ACCEPTED | typeof REFUSED): void {
    stream.record(first, n, state);
    if (state === ACCEPTED) this.accepted += n;
    else this.refused += n;
  }

  /** Records `n` events of which the bus accepted `acceptedCount`, not saying which. */
  recordUnknown(stream: StreamLedger, first: number, n: number, acceptedCount: number): void {
    stream.record(first, n, UNKNOWN);
    this.unknown += n;
    this.unknownAccepted += acceptedCount;
  }
}
