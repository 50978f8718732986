import type { ResolvedScalingPolicy } from "./policy.js";

/** One shard's measurements over the last metrics window. */
export interface ShardMetrics {
  /** The shard id. */
  readonly id: number;
  /** Ring fill ratio at the end of the window. */
  readonly fill: number;
  /** Events accepted per second during the window. */
  readonly eventRate: number;
  /** Mean time events waited in the ring before their batch left (or the oldest queued event's age, if larger). */
  readonly queueDelayMs: number;
  /** Mean time the adapter took per batch during the window (0 when none was sent). */
  readonly flushLatencyMs: number;
  /** True while the shard is within its warm-up after activation (not judged). */
  readonly warmingUp: boolean;
}

/** What the scaling monitor remembers between windows. */
export interface ScalingMemory {
  /** Consecutive windows in which most shards were overloaded. */
  readonly overloadedWindows: number;
  /** Since when (ms) most shards have been idle, or undefined. */
  readonly idleSince: number | undefined;
  /** When the last automatic action happened (ms). */
  readonly lastActionAt: number;
}

/** The monitor's verdict for one window. */
export type ScalingDecision =
  | { readonly action: "none" }
  | { readonly action: "up"; readonly count: number }
  | { readonly action: "down"; readonly shards: readonly number[] };

/** Whether a shard's window shows pressure on any of the three signals. */
export function isOverloaded(metrics: ShardMetrics, policy: ResolvedScalingPolicy): boolean {
  return (
    metrics.fill > policy.fillThreshold ||
    metrics.queueDelayMs > policy.queueDelayThresholdMs ||
    metrics.flushLatencyMs > policy.flushLatencyThresholdMs
  );
}

/** Whether a shard's window is quiet: a nearly empty ring and a low event rate. */
export function isIdle(metrics: ShardMetrics, policy: ResolvedScalingPolicy): boolean {
  return metrics.fill < policy.idleFillThreshold && metrics.eventRate < policy.idleEventRate;
}

/**
 * Decides one window. Scale up after `sustainWindows` consecutive windows in which more than half of the
 * judged (not warming-up) active shards were overloaded, by up to `maxStep` (default half the active
 * shards, at least one). Scale down once more than half were idle for `scaleDownDelayMs`, draining the
 * quietest, half of the idle ones at most. At most one action per cooldown; bounds always hold.
 */
export function evaluateScaling(
  metrics: readonly ShardMetrics[],
  policy: ResolvedScalingPolicy,
  memory: ScalingMemory,
  now: number,
): { decision: ScalingDecision; memory: ScalingMemory } {
  const judged = metrics.filter((m) => !m.warmingUp);
  const active = metrics.length;
  const overloaded = judged.filter((m) => isOverloaded(m, policy)).length;
  const idle = judged.filter((m) => isIdle(m, policy));
  const pressure = judged.length > 0 && overloaded * 2 > judged.length;
  const quiet = judged.length > 0 && idle.length * 2 > judged.length;
  const next: ScalingMemory = {
    overloadedWindows: pressure ? memory.overloadedWindows + 1 : 0,
    idleSince: quiet ? (memory.idleSince ?? now) : undefined,
    lastActionAt: memory.lastActionAt,
  };
  const none = { decision: { action: "none" } as const, memory: next };
  if (now - memory.lastActionAt < policy.cooldownMs) return none;

  if (next.overloadedWindows >= policy.sustainWindows && active < policy.maxShards) {
    const step = policy.maxStep ?? Math.max(1, Math.floor(active / 2));
    const count = Math.min(step, policy.maxShards - active);
    return {
      decision: { action: "up", count },
      memory: { ...next, overloadedWindows: 0, lastActionAt: now },
    };
  }
  if (
    next.idleSince !== undefined &&
    now - next.idleSince >= policy.scaleDownDelayMs &&
    active > policy.minShards
  ) {
    const count = Math.min(Math.max(1, Math.floor(idle.length / 2)), active - policy.minShards);
    // The quietest first; among equals the newest, so the boot shards' keys move least.
    const quietest = [...idle].sort((a, b) => a.eventRate - b.eventRate || a.fill - b.fill || b.id - a.id);
    const shards = quietest.slice(0, count).map((m) => m.id);
    return { decision: { action: "down", shards }, memory: { ...next, lastActionAt: now } };
  }
  return none;
}
