import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.js";
import { type ScalingMemory, type ShardMetrics, evaluateScaling } from "../src/scaling/evaluate.js";
import { SCALING_PRESETS, resolveScalingPolicy } from "../src/scaling/policy.js";
import { SLOT_COUNT, SlotTable } from "../src/scaling/slot-table.js";

describe("scaling policy", () => {
  it("has defaults that can actually scale", () => {
    const policy = resolveScalingPolicy({}, 4);
    expect(policy.maxShards).toBe(16);
    expect(policy.minShards).toBe(1);
    expect(policy.warmupMs).toBe(policy.cooldownMs);
    expect(resolveScalingPolicy({}, 1).maxShards).toBe(8);
    for (const preset of Object.values(SCALING_PRESETS))
      expect(() => resolveScalingPolicy(preset, 4)).not.toThrow();
  });

  it.each([
    [{ minShards: 0 }, "scaling.minShards"],
    [{ maxShards: 2, minShards: 3 }, "scaling.maxShards"],
    [{ maxShards: 2 }, "shards"],
    [{ fillThreshold: Number.NaN }, "scaling.fillThreshold"],
    [{ fillThreshold: 1.5 }, "scaling.fillThreshold"],
    [{ idleFillThreshold: 0.6 }, "scaling.idleFillThreshold"],
    [{ cooldownMs: 0 }, "scaling.cooldownMs"],
    [{ metricsWindowMs: Number.POSITIVE_INFINITY }, "scaling.metricsWindowMs"],
    [{ scaleDownDelayMs: -5 }, "scaling.scaleDownDelayMs"],
    [{ sustainWindows: 0 }, "scaling.sustainWindows"],
    [{ maxStep: 0 }, "scaling.maxStep"],
  ])("rejects %j", (policy, path) => {
    try {
      resolveScalingPolicy(policy, 4);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).path).toBe(path);
    }
  });
});

describe("SlotTable", () => {
  const owner = (id: number) => ({ id });

  it("stays balanced within one slot and moves only what it must (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.boolean(), { maxLength: 25 }),
        (initial, ops) => {
          const owners = Array.from({ length: initial }, (_, i) => owner(i));
          const table = new SlotTable(owners);
          let next = initial;
          for (const grow of ops) {
            const before = Array.from({ length: SLOT_COUNT }, (_, s) => table.route(s << 20).id);
            if (grow || owners.length === 1) {
              const added = owner(next++);
              owners.push(added);
              table.add(added);
              // Only slots now owned by the newcomer changed hands.
              for (let s = 0; s < SLOT_COUNT; s++) {
                const now = table.route(s << 20).id;
                if (now !== before[s]) expect(now).toBe(added.id);
              }
            } else {
              const [removed] = owners.splice(Math.floor(owners.length / 2), 1);
              table.remove(removed!, owners);
              for (let s = 0; s < SLOT_COUNT; s++) {
                if (before[s] !== removed!.id) expect(table.route(s << 20).id).toBe(before[s]);
              }
            }
            const counts = [...table.counts().values()];
            expect(new Set(table.counts().keys())).toEqual(new Set(owners.map((o) => o.id)));
            expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("evaluateScaling", () => {
  const policy = resolveScalingPolicy({}, 4);
  const fresh: ScalingMemory = {
    overloadedWindows: 0,
    idleSince: undefined,
    lastActionAt: Number.NEGATIVE_INFINITY,
  };
  const shard = (id: number, over: Partial<ShardMetrics> = {}): ShardMetrics => ({
    id,
    fill: 0.2,
    eventRate: 10_000,
    queueDelayMs: 5,
    flushLatencyMs: 2,
    warmingUp: false,
    ...over,
  });
  const busy = [0, 1, 2, 3].map((id) => shard(id, { fill: 0.9 }));
  const quiet = [0, 1, 2, 3].map((id) => shard(id, { fill: 0, eventRate: 0 }));

  it("scales up only after sustained pressure, by half the active shards", () => {
    const first = evaluateScaling(busy, policy, fresh, 10_000);
    expect(first.decision).toEqual({ action: "none" });
    const second = evaluateScaling(busy, policy, first.memory, 10_250);
    expect(second.decision).toEqual({ action: "up", count: 2 });
  });

  it("counts each pressure signal: fill, queue delay, adapter latency", () => {
    for (const over of [{ fill: 0.9 }, { queueDelayMs: 500 }, { flushLatencyMs: 900 }]) {
      const metrics = [0, 1, 2].map((id) => shard(id, over));
      const once = evaluateScaling(metrics, policy, fresh, 0);
      expect(evaluateScaling(metrics, policy, once.memory, 250).decision.action).toBe("up");
    }
  });

  it("respects the cooldown and maxShards", () => {
    const recent = { ...fresh, overloadedWindows: 5, lastActionAt: 9_500 };
    expect(evaluateScaling(busy, policy, recent, 10_000).decision).toEqual({ action: "none" });
    const full = Array.from({ length: 16 }, (_, id) => shard(id, { fill: 0.9 }));
    expect(evaluateScaling(full, policy, { ...fresh, overloadedWindows: 5 }, 10_000).decision).toEqual({
      action: "none",
    });
    const nearlyFull = Array.from({ length: 15 }, (_, id) => shard(id, { fill: 0.9 }));
    expect(evaluateScaling(nearlyFull, policy, { ...fresh, overloadedWindows: 5 }, 10_000).decision).toEqual({
      action: "up",
      count: 1,
    });
  });

  it("ignores shards still warming up", () => {
    const warming = busy.map((m) => ({ ...m, warmingUp: true }));
    expect(evaluateScaling(warming, policy, { ...fresh, overloadedWindows: 9 }, 10_000).decision).toEqual({
      action: "none",
    });
  });

  it("scales down only after the scale-down delay, the quietest and newest first, never below minShards", () => {
    const start = evaluateScaling(quiet, policy, fresh, 0);
    expect(start.decision).toEqual({ action: "none" });
    expect(evaluateScaling(quiet, policy, start.memory, 9_999).decision).toEqual({ action: "none" });
    expect(evaluateScaling(quiet, policy, start.memory, 10_000).decision).toEqual({
      action: "down",
      shards: [3, 2],
    });
    const one = [shard(0, { fill: 0, eventRate: 0 })];
    expect(evaluateScaling(one, policy, { ...fresh, idleSince: 0 }, 60_000).decision).toEqual({
      action: "none",
    });
  });
});
