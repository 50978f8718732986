/** One sample of the master's replication offset. */
interface Sample {
  readonly at: number;
  readonly offset: bigint;
}

/**
 * The master's replication offset over time, sampled once per tick, to turn "a replica has applied
 * up to offset o" into "it is s seconds behind": the time since the master's stream passed o,
 * interpolated linearly between the two samples around it. That is the offset delta divided by the
 * write rate, with the rate of the moment the replica fell behind rather than of the last tick.
 * Bounded: the oldest samples go past `maxSamples` or `maxAgeMs`.
 */
export class OffsetHistory {
  readonly #samples: Sample[] = [];
  #replId: string | undefined;

  /** Keeps at most `maxSamples` samples, none older than `maxAgeMs`. */
  constructor(
    private readonly maxSamples = 512,
    private readonly maxAgeMs = 15 * 60_000,
  ) {}

  /** Adds the master's offset at `at`; a new replication id (a new history) starts over. */
  add(at: number, replId: string, offset: bigint): void {
    if (replId !== this.#replId) {
      this.#samples.length = 0;
      this.#replId = replId;
    }
    const last = this.#samples.at(-1);
    // An offset that went back is a different stream under the same id: do not mix the two.
    if (last !== undefined && (offset < last.offset || at < last.at)) this.#samples.length = 0;
    this.#samples.push({ at, offset });
    while (this.#samples.length > this.maxSamples || at - this.#samples[0]!.at > this.maxAgeMs) {
      this.#samples.shift();
    }
  }

  /**
   * Milliseconds between the moment the master's offset passed `offset` and `now`: 0 when the newest
   * sample is not beyond it. When the oldest sample is already beyond it, the replica fell behind
   * before the history starts, and the age of that sample is a lower bound.
   */
  lagMs(offset: bigint, now: number): number {
    const samples = this.#samples;
    const newest = samples.at(-1);
    if (newest === undefined || newest.offset <= offset) return 0;
    let i = samples.length - 1;
    while (i > 0 && samples[i - 1]!.offset > offset) i--;
    const after = samples[i]!;
    if (i === 0) return Math.max(0, now - after.at);
    const before = samples[i - 1]!;
    // The master crossed `offset` somewhere between `before` and `after`.
    const share = Number(offset - before.offset) / Number(after.offset - before.offset);
    return Math.max(0, now - (before.at + share * (after.at - before.at)));
  }
}
