import type { ChannelReplicationMetrics } from "../channel-metrics.js";

/**
 * Remembers when the last leader change happened, to tell election thrash: a change within
 * `windowMs` of the previous one. The window is symmetric because a change's time may come from a
 * server's clock (JetStream's `leader_since`) that runs a little behind the previous observation.
 */
export class ElectionClock {
  #last: number | undefined;

  /** Changes closer than `windowMs` (inclusive) are thrash. */
  constructor(readonly windowMs: number) {}

  /** Records a leader change at `at` (ms since the epoch); true when it is thrash. */
  change(at: number): boolean {
    const thrash = this.#last !== undefined && Math.abs(at - this.#last) <= this.windowMs;
    this.#last = at;
    return thrash;
  }
}

/** Counts a leader change (and thrash, when `thrash`) on every channel. */
export function recordLeaderChange(channels: readonly ChannelReplicationMetrics[], thrash: boolean): void {
  for (const channel of channels) {
    channel.incrLeaderChange();
    if (thrash) channel.incrElectionThrash();
  }
}
