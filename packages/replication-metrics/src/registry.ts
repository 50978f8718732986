import { ChannelReplicationMetrics } from "./channel-metrics.js";
import {
  type ChannelMetrics,
  ReplicationMetricsSnapshot,
  type ReplicationTotals,
  rowOf,
} from "./snapshot.js";

/** Most channels tracked with counters of their own; later channels share the overflow bucket. */
export const MAX_TRACKED_CHANNELS = 1024;

/** The channel label of the shared bucket of channels past {@link MAX_TRACKED_CHANNELS}. */
export const OVERFLOW_CHANNEL_LABEL = "__overflow__";

/** A lone UTF-16 surrogate: it has no UTF-8 form, so it would reach a scrape as U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Per-channel replication metrics with a cardinality cap: the first {@link MAX_TRACKED_CHANNELS}
 * channels get counters of their own; any later new channel folds into one shared
 * {@link OVERFLOW_CHANNEL_LABEL} bucket, so a workload inventing a channel per request cannot grow it
 * without bound. The registry never holds more than 1024 + 1 entries, and a channel seen before the
 * cap keeps its own counters for good.
 *
 * @example
 * ```ts
 * const registry = new ReplicationMetricsRegistry();
 * const orders = registry.forChannel("orders"); // keep the handle on the hot path
 * orders.incrLeaderChange();
 * orders.recordReplicaLag(250);
 * registry.renderPrometheus(); // "# HELP dataforts_replication_lag_seconds …"
 * ```
 */
export class ReplicationMetricsRegistry {
  readonly #channels = new Map<string, ChannelReplicationMetrics>();

  /**
   * The counters of `name`, created on first use. Once the registry tracks
   * {@link MAX_TRACKED_CHANNELS} channels, a new name gets the shared overflow bucket instead. Lone
   * UTF-16 surrogates in a name are replaced by U+FFFD first (what a scrape would show anyway), so
   * two names that would print alike are one channel.
   */
  forChannel(name: string): ChannelReplicationMetrics {
    const known = this.#channels.get(name);
    if (known !== undefined) return known;
    const key = String(name).replace(LONE_SURROGATE, "\uFFFD");
    const existing = this.#channels.get(key);
    if (existing !== undefined) return existing;
    // JS runs this check and the insert without interleaving, so the crate's insert-then-undo dance
    // against racing threads is not needed: checking first gives the same bound.
    if (this.#channels.size < MAX_TRACKED_CHANNELS) {
      const created = new ChannelReplicationMetrics();
      this.#channels.set(key, created);
      return created;
    }
    let overflow = this.#channels.get(OVERFLOW_CHANNEL_LABEL);
    if (overflow === undefined) {
      overflow = new ChannelReplicationMetrics();
      this.#channels.set(OVERFLOW_CHANNEL_LABEL, overflow);
    }
    return overflow;
  }

  /** Number of tracked channels, the overflow bucket included once it exists. */
  get len(): number {
    return this.#channels.size;
  }

  /** True when no channel has been seen yet. */
  get isEmpty(): boolean {
    return this.#channels.size === 0;
  }

  /** A copy of every channel's figures, sorted by channel name. */
  snapshot(): ReplicationMetricsSnapshot {
    const rows: ChannelMetrics[] = [];
    for (const [channel, live] of this.#channels) rows.push(rowOf(channel, live));
    return new ReplicationMetricsSnapshot(rows);
  }

  /** The current figures of `name`, without creating it; `undefined` when it is not tracked. */
  channel(name: string): ChannelMetrics | undefined {
    const live = this.#channels.get(name);
    return live === undefined ? undefined : rowOf(name, live);
  }

  /** Each counter summed over every channel (see {@link ReplicationMetricsSnapshot.totals}). */
  totals(): ReplicationTotals {
    return this.snapshot().totals();
  }

  /** The Prometheus text exposition of the current figures, byte for byte the crate's. */
  renderPrometheus(): string {
    return this.snapshot().renderPrometheus();
  }
}
