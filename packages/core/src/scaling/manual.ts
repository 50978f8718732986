import { ScalingError } from "../errors.js";
import type { Topology } from "../shard/topology.js";
import type { ShardMetrics } from "./evaluate.js";
import type { ResolvedScalingPolicy } from "./policy.js";

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 0) {
    throw new ScalingError("invalid-count", `a shard count must be an integer ≥ 0, got ${String(count)}`);
  }
}

/** Adds up to `count` shards at once, within `maxShards`, ignoring the cooldown; returns their ids. */
export function manualScaleUp(topology: Topology, policy: ResolvedScalingPolicy, count: number): number[] {
  checkCount(count);
  const room = Math.max(0, policy.maxShards - topology.active().length);
  const ids: number[] = [];
  for (let i = 0; i < Math.min(count, room); i++) ids.push(topology.add("manual").id);
  return ids;
}

/**
 * Drains up to `count` shards, within `minShards`: the quietest by the latest metrics, newest first
 * among equals (so the boot shards' keys move least). Resolves their ids once every one has sent what it held and
 * been removed.
 */
export async function manualScaleDown(
  topology: Topology,
  policy: ResolvedScalingPolicy,
  count: number,
  metrics: readonly ShardMetrics[],
): Promise<number[]> {
  checkCount(count);
  const active = topology.active();
  const take = Math.min(count, Math.max(0, active.length - policy.minShards));
  const rate = new Map(metrics.map((m) => [m.id, m.eventRate]));
  const chosen = [...active]
    .sort((a, b) => (rate.get(a.id) ?? 0) - (rate.get(b.id) ?? 0) || b.id - a.id)
    .slice(0, take)
    .map((shard) => shard.id);
  await Promise.all(chosen.map((id) => topology.drain(id, "manual")));
  return chosen;
}
