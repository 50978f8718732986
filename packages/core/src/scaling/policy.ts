import { ConfigError, describeValue } from "../errors.js";

/**
 * When and how the bus adds and removes shards (dynamic mode). A shard is *overloaded* when its ring
 * fill, the time its events wait in the ring, or the adapter's time per batch passes a threshold; it is
 * *idle* when its ring is nearly empty and its event rate is low.
 */
export interface ScalingPolicy {
  /** Fewest active shards. Default 1. */
  readonly minShards?: number;
  /** Most active shards. Default: 4 × the initial shards, at least 8, at most 1,024. */
  readonly maxShards?: number;
  /** Ring fill ratio, in (0, 1], above which a shard is overloaded. Default 0.5. */
  readonly fillThreshold?: number;
  /** Mean wait of events in the ring (ms) above which a shard is overloaded. Default 100. */
  readonly queueDelayThresholdMs?: number;
  /** Mean adapter time per batch (ms) above which a shard is overloaded. Default 500. */
  readonly flushLatencyThresholdMs?: number;
  /** Ring fill ratio, in [0, 1), below which a shard may be idle. Default 0.05. */
  readonly idleFillThreshold?: number;
  /** Events per second below which a shard may be idle. Default 100. */
  readonly idleEventRate?: number;
  /** Consecutive overloaded windows before scaling up ("sustained pressure"). Default 2. */
  readonly sustainWindows?: number;
  /** Least time between two automatic scaling actions, ms. Default 1,000. */
  readonly cooldownMs?: number;
  /** Time after activation during which a shard is not judged, ms. Default: `cooldownMs`. */
  readonly warmupMs?: number;
  /** How long the bus must stay idle before it scales down, ms. Default 10,000. */
  readonly scaleDownDelayMs?: number;
  /** Length of a metrics window (the monitor's tick), ms. Default 250. */
  readonly metricsWindowMs?: number;
  /** Most shards added in one automatic step. Default: half the active shards, at least 1. */
  readonly maxStep?: number;
  /** Whether the monitor acts by itself; false leaves only manual scaling. Default true. */
  readonly autoScale?: boolean;
  /** Start the monitor with the bus; false waits for `bus.startScalingMonitor()`. Default true. */
  readonly autoStart?: boolean;
}

/** A validated policy with every default applied. */
export type ResolvedScalingPolicy = Required<Omit<ScalingPolicy, "maxStep">> & {
  readonly maxStep: number | undefined;
};

/** Ready-made policies, to spread into `scaling` and adjust. */
export const SCALING_PRESETS = Object.freeze({
  /** The defaults. */
  balanced: Object.freeze({}) as ScalingPolicy,
  /** Reacts fast and scales wide: short windows and cooldown, lower thresholds. */
  highThroughput: Object.freeze({
    fillThreshold: 0.3,
    queueDelayThresholdMs: 50,
    cooldownMs: 500,
    metricsWindowMs: 100,
    scaleDownDelayMs: 30_000,
  }) as ScalingPolicy,
  /** Moves slowly: longer windows and cooldown, more sustained pressure needed. */
  conservative: Object.freeze({
    fillThreshold: 0.7,
    sustainWindows: 4,
    cooldownMs: 5_000,
    metricsWindowMs: 500,
    scaleDownDelayMs: 60_000,
  }) as ScalingPolicy,
});

const MAX_SHARD_COUNT = 65_535;

function integer(path: string, value: number, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(path, `must be an integer in [${min}, ${max}], got ${describeValue(value)}`);
  }
  return value;
}

function ratio(
  path: string,
  value: number,
  { allowZero, allowOne }: { allowZero: boolean; allowOne: boolean },
): number {
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (allowZero ? value >= 0 : value > 0) &&
    (allowOne ? value <= 1 : value < 1);
  if (!ok)
    throw new ConfigError(
      path,
      `must be a ratio in ${allowZero ? "[" : "("}0, 1${allowOne ? "]" : ")"}, got ${describeValue(value)}`,
    );
  return value;
}

function duration(path: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 2 ** 31 - 1) {
    throw new ConfigError(path, `must be a finite duration in ms, > 0, got ${describeValue(value)}`);
  }
  return value;
}

function nonNegative(path: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(path, `must be a finite number ≥ 0, got ${describeValue(value)}`);
  }
  return value;
}

/** Applies defaults and validates; `initialShards` is the bus's `shards` option. */
export function resolveScalingPolicy(policy: ScalingPolicy, initialShards: number): ResolvedScalingPolicy {
  if (typeof policy !== "object" || policy === null) throw new ConfigError("scaling", "must be an object");
  const minShards = integer("scaling.minShards", policy.minShards ?? 1, 1, MAX_SHARD_COUNT);
  const defaultMax = Math.min(1_024, Math.max(8, initialShards * 4));
  const maxShards = integer(
    "scaling.maxShards",
    policy.maxShards ?? Math.max(defaultMax, minShards),
    1,
    MAX_SHARD_COUNT,
  );
  if (maxShards < minShards)
    throw new ConfigError("scaling.maxShards", `(${maxShards}) must be ≥ minShards (${minShards})`);
  if (initialShards < minShards || initialShards > maxShards) {
    throw new ConfigError(
      "shards",
      `(${initialShards}) must lie within scaling.minShards..maxShards (${minShards}..${maxShards})`,
    );
  }
  const cooldownMs = duration("scaling.cooldownMs", policy.cooldownMs ?? 1_000);
  const fillThreshold = ratio("scaling.fillThreshold", policy.fillThreshold ?? 0.5, {
    allowZero: false,
    allowOne: true,
  });
  const idleFillThreshold = ratio("scaling.idleFillThreshold", policy.idleFillThreshold ?? 0.05, {
    allowZero: true,
    allowOne: false,
  });
  if (idleFillThreshold >= fillThreshold) {
    throw new ConfigError(
      "scaling.idleFillThreshold",
      `(${idleFillThreshold}) must be below fillThreshold (${fillThreshold})`,
    );
  }
  const maxStep =
    policy.maxStep === undefined ? undefined : integer("scaling.maxStep", policy.maxStep, 1, MAX_SHARD_COUNT);
  const autoScale = policy.autoScale ?? true;
  if (typeof autoScale !== "boolean") throw new ConfigError("scaling.autoScale", "must be a boolean");
  const autoStart = policy.autoStart ?? true;
  if (typeof autoStart !== "boolean") throw new ConfigError("scaling.autoStart", "must be a boolean");
  return {
    minShards,
    maxShards,
    fillThreshold,
    queueDelayThresholdMs: duration("scaling.queueDelayThresholdMs", policy.queueDelayThresholdMs ?? 100),
    flushLatencyThresholdMs: duration(
      "scaling.flushLatencyThresholdMs",
      policy.flushLatencyThresholdMs ?? 500,
    ),
    idleFillThreshold,
    idleEventRate: nonNegative("scaling.idleEventRate", policy.idleEventRate ?? 100),
    sustainWindows: integer("scaling.sustainWindows", policy.sustainWindows ?? 2, 1, 1_000),
    cooldownMs,
    warmupMs: nonNegative("scaling.warmupMs", policy.warmupMs ?? cooldownMs),
    scaleDownDelayMs: duration("scaling.scaleDownDelayMs", policy.scaleDownDelayMs ?? 10_000),
    metricsWindowMs: duration("scaling.metricsWindowMs", policy.metricsWindowMs ?? 250),
    maxStep,
    autoScale,
    autoStart,
  };
}
