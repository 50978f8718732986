import type { Logger } from "../contract/logger.js";
import { nowMicrosFrom } from "../ingest/clock.js";
import type { Shard } from "../shard/shard.js";
import type { Topology } from "../shard/topology.js";
import { type ScalingMemory, type ShardMetrics, evaluateScaling, isOverloaded } from "./evaluate.js";
import type { ResolvedScalingPolicy } from "./policy.js";

interface Previous {
  at: number;
  accepted: number;
  batches: number;
  queueDelaySum: number;
  flushSum: number;
  flushCount: number;
}

/**
 * Measures the active shards once per metrics window, steers unkeyed events to the least-loaded ones,
 * and (with `autoScale`) adds or drains shards as {@link evaluateScaling} decides. Its timer is
 * `unref`'d, so it never keeps the process alive; `stop()` ends it.
 */
export class ScalingMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly previous = new Map<number, Previous>();
  private memory: ScalingMemory = {
    overloadedWindows: 0,
    idleSince: undefined,
    lastActionAt: Number.NEGATIVE_INFINITY,
  };
  /** The latest measurements, for stats. */
  latest: readonly ShardMetrics[] = [];

  constructor(
    private readonly topology: Topology,
    private readonly policy: ResolvedScalingPolicy,
    private readonly logger: Logger,
  ) {}

  /** True while the monitor runs. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts the periodic tick; a no-op when running. */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.policy.metricsWindowMs);
    this.timer.unref();
  }

  /** Stops the tick. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One window: measure, rebalance unkeyed routing, maybe scale. Exposed for tests. */
  tick(now = performance.now()): void {
    try {
      const active = this.topology.active();
      const metrics = active.map((shard) => this.measure(shard, now));
      this.forgetRemoved(active);
      this.latest = metrics;
      this.steerUnkeyed(active, metrics);
      if (!this.policy.autoScale) return;
      const { decision, memory } = evaluateScaling(metrics, this.policy, this.memory, now);
      this.memory = memory;
      if (decision.action === "up") {
        this.logger.info({ count: decision.count, active: active.length }, "scaling up");
        for (let i = 0; i < decision.count; i++) this.topology.add("auto");
      } else if (decision.action === "down") {
        this.logger.info({ shards: decision.shards, active: active.length }, "scaling down");
        for (const id of decision.shards) {
          this.topology.drain(id, "auto").catch((error: unknown) => {
            this.logger.error({ shard: id, err: error }, "draining a shard failed");
          });
        }
      }
    } catch (error) {
      this.logger.error({ err: error }, "scaling monitor tick failed");
    }
  }

  private measure(shard: Shard, now: number): ShardMetrics {
    const before = this.previous.get(shard.id);
    const current: Previous = {
      at: now,
      accepted: shard.accepted,
      batches: shard.batches,
      queueDelaySum: shard.queueDelaySum,
      flushSum: shard.flushSum,
      flushCount: shard.flushCount,
    };
    this.previous.set(shard.id, current);
    const elapsedMs = before === undefined ? 0 : now - before.at;
    const batches = before === undefined ? 0 : current.batches - before.batches;
    const flushes = before === undefined ? 0 : current.flushCount - before.flushCount;
    const oldest = shard.ring.oldestTimestamp();
    const oldestAgeMs = oldest === undefined ? 0 : Math.max(0, (nowMicrosFrom(now) - oldest) / 1000);
    const meanDelayMs = batches > 0 ? (current.queueDelaySum - before!.queueDelaySum) / batches : 0;
    return {
      id: shard.id,
      fill: shard.ring.length / shard.ring.capacity,
      eventRate: elapsedMs > 0 ? ((current.accepted - before!.accepted) * 1000) / elapsedMs : 0,
      queueDelayMs: Math.max(meanDelayMs, oldestAgeMs),
      flushLatencyMs: flushes > 0 ? (current.flushSum - before!.flushSum) / flushes : 0,
      warmingUp: now - shard.activatedAt < this.policy.warmupMs,
    };
  }

  /** Unkeyed events go to the shards that are not overloaded (all of them when every one is). */
  private steerUnkeyed(active: readonly Shard[], metrics: readonly ShardMetrics[]): void {
    const calm = active.filter((_, i) => !isOverloaded(metrics[i]!, this.policy));
    this.topology.setUnkeyedTargets(calm.length > 0 ? calm : active);
  }

  private forgetRemoved(active: readonly Shard[]): void {
    const ids = new Set(active.map((shard) => shard.id));
    for (const id of this.previous.keys()) if (!ids.has(id)) this.previous.delete(id);
  }
}
