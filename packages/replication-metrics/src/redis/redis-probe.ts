import type { ChannelReplicationMetrics } from "../channel-metrics.js";
import { InvalidOptionsError } from "../errors.js";
import { type ShardStreamOptions, redisShardStreams, resolveStreams } from "../probe/channels.js";
import { ElectionClock, recordLeaderChange } from "../probe/elections.js";
import { PeriodicProbe, type ProbeTimingOptions } from "../probe/periodic-probe.js";
import type { ReplicationMetricsRegistry } from "../registry.js";
import { OffsetHistory } from "./offset-history.js";
import { type RedisAddress, type RedisProbeClient, addressKey, isClient } from "./redis-client.js";
import { type ReplicationInfo, parseReplicationInfo } from "./replication-info.js";

/** The optional write check: a `SET` on the master followed by `WAIT` for its replicas. */
export interface RedisWriteCheck {
  /** The key written each tick (with a 60 s expiry). Pick one outside your data, e.g. `"netmesh:replication-probe"`. */
  readonly key: string;
  /** Replicas `WAIT` waits for. Default: the replicas the master lists as online (at least 1). */
  readonly replicas?: number;
}

/** Options of {@link RedisReplicationProbe}. Give `streams`, or `shards` with the adapter's `prefix`. */
export interface RedisReplicationProbeOptions extends ProbeTimingOptions, ShardStreamOptions {
  /** The registry the figures go to. */
  readonly registry: ReplicationMetricsRegistry;
  /** A client of the master (yours; the probe never closes it). */
  readonly master: RedisProbeClient;
  /**
   * The replicas: your clients, or addresses the probe connects to with the master client's settings
   * (and closes at `stop`). Default none: the master's own view of its replicas is used.
   */
  readonly replicas?: readonly (RedisProbeClient | RedisAddress)[];
  /** Measure write-to-replica latency with `SET` + `WAIT` (it writes one key). Default off. */
  readonly writeCheck?: RedisWriteCheck;
}

/** A server the probe asks `INFO replication`. */
interface Target {
  /** `host:port`, normalised: the log target, and the key matching a master's replica list. */
  readonly name: string;
  client: RedisProbeClient | undefined;
  readonly address: RedisAddress | undefined;
}

/** Replication histories remembered to tell a new leader from a known one. */
const MAX_KNOWN_HISTORIES = 64;
/** Replica addresses whose acknowledged offset is remembered between ticks. */
const MAX_REMEMBERED_REPLICAS = 64;

/**
 * Feeds a {@link ReplicationMetricsRegistry} from Redis replication. Redis replicates a whole server, not
 * a stream, so each figure is the server's and goes to every shard stream's channel alike, except the
 * sync bytes, which are split evenly among them (so the channels sum to the server's figure).
 *
 * Per tick, `INFO replication` on the master and on each given replica (in parallel, each bounded), then:
 * - **replica lag** (the worst replica): the time since the master's replication offset passed the
 *   replica's, interpolated between ticks (offset delta over write rate); the replica's own applied
 *   offset when it answers, else the offset it last acknowledged to the master, and then at least its
 *   overdue acknowledgement (`lag=` minus the 1 s ack period);
 * - **sync bytes**: the growth of each replica's acknowledged offset, summed over replicas;
 * - **leader change**: a replication history (`master_replid`) not seen before, on a master or on a
 *   replica linked to one: a promotion (`REPLICAOF NO ONE`, `FAILOVER`, Sentinel), or a master that
 *   restarted without its data. Several servers showing it in one tick count once. Within
 *   `thrashWindowMs` of the previous change it is also election thrash;
 * - **under capacity**: each replica the master listed as online at the previous tick and no longer does;
 * - **leader lag** (with `writeCheck`): how long a `SET` takes to be acknowledged by the replicas (`WAIT`).
 */
export class RedisReplicationProbe extends PeriodicProbe {
  /** The channels (shard streams) the figures go to. */
  readonly streams: readonly string[];
  readonly #channels: ChannelReplicationMetrics[];
  readonly #master: Target;
  readonly #replicas: Target[];
  readonly #writeCheck: RedisWriteCheck | undefined;
  readonly #history = new OffsetHistory();
  readonly #elections: ElectionClock;
  #histories: Set<string> | undefined;
  #ackedReplId: string | undefined;
  readonly #acked = new Map<string, bigint>();
  #online: Set<string> | undefined;
  #writer: RedisProbeClient | undefined;

  /** Validates the options (an {@link InvalidOptionsError} when wrong); `start()` begins ticking. */
  constructor(options: RedisReplicationProbeOptions) {
    super("redis", options);
    const { registry, master, replicas = [], writeCheck } = options;
    if (master === undefined || !isClient(master))
      throw new InvalidOptionsError("master must be an ioredis client");
    if (typeof registry?.forChannel !== "function") throw new InvalidOptionsError("registry is required");
    if (writeCheck !== undefined && (typeof writeCheck.key !== "string" || writeCheck.key === "")) {
      throw new InvalidOptionsError("writeCheck.key must be a non-empty string");
    }
    this.streams = Object.freeze(resolveStreams(options, redisShardStreams));
    this.#channels = this.streams.map((stream) => registry.forChannel(stream));
    this.#master = {
      name: addressKey(master.options.host, master.options.port),
      client: master,
      address: undefined,
    };
    this.#replicas = replicas.map((replica) =>
      isClient(replica)
        ? {
            name: addressKey(replica.options.host, replica.options.port),
            client: replica,
            address: undefined,
          }
        : { name: addressKey(replica.host, replica.port), client: undefined, address: replica },
    );
    this.#writeCheck = writeCheck;
    this.#elections = new ElectionClock(this.thrashWindowMs);
  }

  protected async tick(): Promise<void> {
    const masterAnswer = this.#info(this.#master).then((info) => ({ info, at: Date.now() }));
    const replicas = await Promise.all(this.#replicas.map((t) => this.#info(t)));
    // The master's figures date from its answer, not from the end of the tick (a stopped replica makes
    // the tick wait for its timeout): lags are measured at that moment.
    const { info: master, at: now } = await masterAnswer;
    this.#watchLeadership(now, [master, ...replicas]);
    if (master?.role !== "master" || master.replId === undefined || master.offset === undefined) return;
    this.#history.add(now, master.replId, master.offset);
    this.#countSyncBytes(master.replId, master);
    this.#countLostReplicas(master);
    this.#recordReplicaLag(now, master, master.offset, replicas);
    if (this.#writeCheck !== undefined) await this.#checkWrite(this.#writeCheck, master);
  }

  protected async release(): Promise<void> {
    for (const target of this.#replicas) {
      if (target.address !== undefined) target.client?.disconnect();
    }
    this.#writer?.disconnect();
  }

  /** `INFO replication` of a target, or undefined when it failed (logged). */
  async #info(target: Target): Promise<ReplicationInfo | undefined> {
    try {
      target.client ??= this.#open(target.address!, target.name);
      const client = target.client;
      const text = await this.calls.run(target.name, `INFO replication on ${target.name}`, () =>
        client.call("INFO", ["replication"]),
      );
      this.failures.succeeded(target.name);
      return parseReplicationInfo(String(text));
    } catch (error) {
      this.failures.failed(target.name, error, `INFO replication on ${target.name} failed`);
      return undefined;
    }
  }

  /** A connection of the probe's own, with the master client's settings. */
  #open(override: Partial<RedisAddress>, name: string): RedisProbeClient {
    const client = this.#master.client!.duplicate({
      ...override,
      // A Sentinel-configured master client would otherwise make this one look up the master too.
      sentinels: undefined,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectionName: "netmesh-replication-probe",
    });
    client.on("error", (err) =>
      this.logger.debug({ err, probe: this.kind, target: name }, "connection error"),
    );
    return client;
  }

  #watchLeadership(now: number, infos: readonly (ReplicationInfo | undefined)[]): void {
    const seen: string[] = [];
    for (const info of infos) {
      if (info?.replId === undefined) continue;
      // A replica reports its master's history only once linked; before that it shows a random one of its own.
      if (info.role === "master" || (info.role === "slave" && info.linkUp)) seen.push(info.replId);
    }
    if (seen.length === 0) return;
    if (this.#histories === undefined) {
      this.#histories = new Set(seen);
      return;
    }
    let changed = false;
    for (const replId of seen) {
      if (this.#histories.has(replId)) continue;
      changed = true;
      this.#histories.add(replId);
      if (this.#histories.size > MAX_KNOWN_HISTORIES) {
        this.#histories.delete(this.#histories.values().next().value!);
      }
    }
    if (changed) {
      const thrash = this.#elections.change(now);
      this.logger.info({ probe: this.kind, thrash }, "Redis leader change (new replication history)");
      recordLeaderChange(this.#channels, thrash);
    }
  }

  #countSyncBytes(replId: string, master: ReplicationInfo): void {
    if (replId !== this.#ackedReplId) {
      // Offsets of another history are not comparable: start counting from here.
      this.#acked.clear();
      this.#ackedReplId = replId;
    }
    let shipped = 0n;
    for (const replica of master.replicas) {
      const previous = this.#acked.get(replica.address);
      if (previous !== undefined && replica.offset > previous) shipped += replica.offset - previous;
      this.#acked.set(replica.address, replica.offset);
    }
    // A replica that comes back keeps its mark (its catch-up is shipped bytes too), but replicas
    // churning through new addresses must not grow the map without bound.
    if (this.#acked.size > MAX_REMEMBERED_REPLICAS) {
      const listed = new Set(master.replicas.map((r) => r.address));
      for (const address of this.#acked.keys()) if (!listed.has(address)) this.#acked.delete(address);
    }
    if (shipped === 0n) return;
    const count = BigInt(this.#channels.length);
    this.#channels.forEach((channel, i) => {
      channel.incrSyncBytes(shipped / count + (BigInt(i) < shipped % count ? 1n : 0n));
    });
  }

  #countLostReplicas(master: ReplicationInfo): void {
    const online = new Set(master.replicas.filter((r) => r.state === "online").map((r) => r.address));
    const before = this.#online;
    this.#online = online;
    if (before === undefined) return;
    for (const address of before) {
      if (online.has(address)) continue;
      this.logger.info({ probe: this.kind, replica: address }, "a replica is no longer online");
      for (const channel of this.#channels) channel.incrUnderCapacity();
    }
  }

  #recordReplicaLag(
    now: number,
    master: ReplicationInfo,
    masterOffset: bigint,
    replicas: readonly (ReplicationInfo | undefined)[],
  ): void {
    let worst: number | undefined;
    for (const listed of master.replicas) {
      const index = this.#replicas.findIndex((t) => t.name === addressKey(listed.ip, listed.port));
      const own = index < 0 ? undefined : replicas[index];
      // The replica's own offset is fresher than its last ack, but only comparable on the same history.
      const fresh =
        own?.role === "slave" && own.linkUp && own.replId === master.replId ? own.appliedOffset : undefined;
      const offset = fresh ?? listed.offset;
      let lag = offset < masterOffset ? this.#history.lagMs(offset, now) : 0;
      if (fresh === undefined) lag = Math.max(lag, (listed.ackAgeSeconds - 1) * 1_000);
      worst = Math.max(worst ?? 0, lag);
    }
    for (const own of replicas) {
      // A replica whose link is down is at least that long behind (it may not be listed any more).
      if (own?.role === "slave" && !own.linkUp && own.linkDownSeconds !== undefined) {
        worst = Math.max(worst ?? 0, own.linkDownSeconds * 1_000);
      }
    }
    if (worst === undefined) return;
    for (const channel of this.#channels) channel.recordReplicaLag(worst);
  }

  async #checkWrite(check: RedisWriteCheck, master: ReplicationInfo): Promise<void> {
    const online = master.replicas.filter((r) => r.state === "online").length;
    const wanted = check.replicas ?? Math.max(1, online);
    const waitMs = this.calls.timeoutMs;
    try {
      this.#writer ??= this.#open({}, "write check");
      const writer = this.#writer;
      const started = performance.now();
      const acked = await this.calls.run(
        "write check",
        `SET + WAIT ${wanted} on ${this.#master.name}`,
        async () => {
          await writer.call("SET", [check.key, String(Date.now()), "PX", 60_000]);
          return writer.call("WAIT", [wanted, waitMs]);
        },
        2 * waitMs,
      );
      const elapsed = performance.now() - started;
      this.failures.succeeded("write check");
      if (Number(acked) < wanted) {
        this.logger.debug(
          { probe: this.kind, acked, wanted },
          "WAIT timed out: the leader lag is a lower bound",
        );
      }
      for (const channel of this.#channels) channel.recordLeaderLag(elapsed);
    } catch (error) {
      this.failures.failed("write check", error, "the SET + WAIT write check failed");
    }
  }
}
