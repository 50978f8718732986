import type { ChannelReplicationMetrics } from "../channel-metrics.js";
import { InvalidOptionsError } from "../errors.js";
import { type ShardStreamOptions, jetStreamShardStreams, resolveStreams } from "../probe/channels.js";
import { recordLeaderChange } from "../probe/elections.js";
import { PeriodicProbe, type ProbeTimingOptions } from "../probe/periodic-probe.js";
import type { ReplicationMetricsRegistry } from "../registry.js";
import { StreamClusterWatch } from "./cluster-watch.js";
import {
  type NatsRequester,
  type StreamInfoSource,
  type StreamLookup,
  managerStreamInfo,
  requestStreamInfo,
} from "./stream-info.js";

/**
 * Options of {@link JetStreamReplicationProbe}: a `connection` or a `manager` (yours; the probe never
 * closes them), and `streams`, or `shards` with the adapter's `prefix`.
 */
export interface JetStreamReplicationProbeOptions extends ProbeTimingOptions, ShardStreamOptions {
  /** The registry the figures go to. */
  readonly registry: ReplicationMetricsRegistry;
  /** A nats.js `NatsConnection`: the probe sends `$JS.API.STREAM.INFO` requests itself. */
  readonly connection?: NatsRequester;
  /** Or a nats.js `JetStreamManager`: the probe calls `streams.info`. */
  readonly manager?: StreamInfoSource;
  /** With `connection`: the JetStream API prefix. Default `"$JS.API"` (`"$JS.<domain>.API"` for a domain). */
  readonly apiPrefix?: string;
  /** Stream infos in flight at once. Default 8. */
  readonly concurrency?: number;
}

interface Watched {
  readonly stream: string;
  readonly channel: ChannelReplicationMetrics;
  readonly watch: StreamClusterWatch;
  /** Whether the stream existed at the last look (a shard never written has none). */
  found: boolean | undefined;
}

/**
 * Feeds a {@link ReplicationMetricsRegistry} from JetStream's view of each shard stream's RAFT group:
 * one stream info per stream and tick (bounded, at most `concurrency` at once), then, per channel:
 * - **leader change**: `cluster.leader` differs from the previous tick's (a new `leader_since` too,
 *   on servers that report it); within `thrashWindowMs` of the stream's previous change it is also
 *   **election thrash**. While a stream has no leader (an election), its infos time out or show none,
 *   and the change is counted once the new leader answers;
 * - **replica lag**: the worst peer: its pending operations over the stream's write rate, and for a
 *   peer not current (or offline) at least the time since the leader heard from it (`active`);
 * - **under capacity**: each peer that turns not current, offline or missing (edge-triggered, so a
 *   peer that stays behind counts once).
 */
export class JetStreamReplicationProbe extends PeriodicProbe {
  /** The stream names (channels) probed. */
  readonly streams: readonly string[];
  readonly #watched: Watched[];
  readonly #lookup: (stream: string) => Promise<StreamLookup>;
  readonly #concurrency: number;

  /** Validates the options (an {@link InvalidOptionsError} when wrong); `start()` begins ticking. */
  constructor(options: JetStreamReplicationProbeOptions) {
    super("jetstream", options);
    const { registry, connection, manager, apiPrefix = "$JS.API", concurrency = 8 } = options;
    if (typeof registry?.forChannel !== "function") throw new InvalidOptionsError("registry is required");
    if ((connection === undefined) === (manager === undefined)) {
      throw new InvalidOptionsError("give exactly one of connection and manager");
    }
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1_024) {
      throw new InvalidOptionsError(
        `concurrency must be an integer in [1, 1024], got ${String(concurrency)}`,
      );
    }
    if (typeof apiPrefix !== "string" || !/^[^\s*>]+$/.test(apiPrefix)) {
      throw new InvalidOptionsError(
        `apiPrefix must be a subject without wildcards, got ${JSON.stringify(apiPrefix)}`,
      );
    }
    this.streams = Object.freeze(resolveStreams(options, jetStreamShardStreams));
    this.#watched = this.streams.map((stream) => ({
      stream,
      channel: registry.forChannel(stream),
      watch: new StreamClusterWatch(this.thrashWindowMs),
      found: undefined,
    }));
    this.#concurrency = concurrency;
    const timeoutMs = this.calls.timeoutMs;
    this.#lookup =
      connection !== undefined
        ? (stream) => requestStreamInfo(connection, apiPrefix, stream, timeoutMs)
        : (stream) => managerStreamInfo(manager!, stream);
  }

  protected async tick(): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < this.#watched.length) await this.#probe(this.#watched[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, this.#watched.length) }, worker));
  }

  protected async release(): Promise<void> {
    // Nothing of its own: the connection or manager is the caller's.
  }

  async #probe(watched: Watched): Promise<void> {
    const { stream } = watched;
    let lookup: StreamLookup;
    try {
      lookup = await this.calls.run(stream, `stream info of ${stream}`, () => this.#lookup(stream));
      this.failures.succeeded(stream);
    } catch (error) {
      this.failures.failed(stream, error, `stream info of ${stream} failed`);
      return;
    }
    if (!lookup.found) {
      if (watched.found !== false)
        this.logger.debug({ probe: this.kind, stream }, "stream does not exist (yet)");
      watched.found = false;
      return;
    }
    watched.found = true;
    const seen = watched.watch.observe(lookup.info, Date.now());
    if (seen.leaderChange) {
      this.logger.info(
        { probe: this.kind, stream, leader: lookup.info.cluster?.leader, thrash: seen.thrash },
        "stream leader changed",
      );
      recordLeaderChange([watched.channel], seen.thrash);
    }
    for (const peer of seen.newlyUnhealthy) {
      this.logger.info({ probe: this.kind, stream, peer }, "stream peer not current");
      watched.channel.incrUnderCapacity();
    }
    if (seen.replicaLagMs !== undefined) watched.channel.recordReplicaLag(seen.replicaLagMs);
  }
}
