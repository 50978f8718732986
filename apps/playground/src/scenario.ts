import type { BackpressureOption, BusOptions, ScalingPolicy } from "@netmesh/core";
import type { AdapterName, AdapterOptionValue } from "./backends/backend.js";

/** The scenarios of `--scenario`. */
export const SCENARIO_NAMES = ["steady", "burst", "outage", "group"] as const;

/** One of {@link SCENARIO_NAMES}. */
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** What a scenario changes in a run. */
export interface ScenarioSettings {
  /** Bus options of the scenario (the caller's own `bus` options override them). */
  readonly bus: Partial<
    Pick<
      BusOptions,
      | "ringCapacity"
      | "batch"
      | "scaling"
      | "retries"
      | "retryBaseDelayMs"
      | "retryMaxDelayMs"
      | "adapterTimeoutMs"
    >
  >;
  /** Adapter options of the scenario (the user's `--adapter-option`s override them). */
  readonly adapterOptions: Readonly<Record<string, AdapterOptionValue>>;
  /** The backpressure mode forced by the scenario, if any. */
  readonly backpressure: BackpressureOption | undefined;
  /** Pauses in production: after each `burstEvents` events, a pause of `pauseMs` (burst). */
  readonly waves: { readonly burstEvents: number; readonly pauseMs: number } | undefined;
  /** Kill the backend after this share of the events, for `downMs` (outage). */
  readonly outage: { readonly atShare: number; readonly downMs: number } | undefined;
  /** Start a private server for the backend. */
  readonly ownServer: boolean;
  /** Consumer-group members (group). */
  readonly members: number;
  /** Events produced between two yields to the event loop, when the scenario needs another size. */
  readonly chunkSize: number | undefined;
}

/** The burst scenario's scaling policy: quick to react, so a short run shows it. */
export const BURST_SCALING: ScalingPolicy = Object.freeze({
  metricsWindowMs: 100,
  sustainWindows: 2,
  fillThreshold: 0.5,
  queueDelayThresholdMs: 5,
  cooldownMs: 300,
  warmupMs: 200,
  scaleDownDelayMs: 1_500,
});

/** How long the outage scenario keeps the server down. */
export const OUTAGE_DOWN_MS = 2_000;

/**
 * Adapter options that make an attempt against a dead server fail within about a second (instead of
 * waiting in the client's offline queue for the whole outage), so the outage shows as retries.
 */
const FAST_FAILING: Partial<Record<AdapterName, Record<string, AdapterOptionValue>>> = {
  redis: { commandTimeoutMs: 1_000, connectTimeoutMs: 1_000 },
  jetstream: { reconnectWaitMs: 1_000, requestTimeoutMs: 1_000 },
};

/**
 * The settings of `scenario` for a run of `shards` shards on `adapter`:
 * - `steady`: the default traffic, nothing changed;
 * - `burst`: small rings and `block` backpressure, so waves of traffic fill the rings (backpressure
 *   engages, producers wait), and dynamic scaling on, so sustained fill adds shards (up to 4× the
 *   initial count) and the quiet stretch at the end drains them again;
 * - `outage`: a private server, killed after a third of the events and restarted {@link OUTAGE_DOWN_MS}
 *   later; retries with a horizon well past the outage, so nothing is lost;
 * - `group`: consumer-group members reading while the run produces.
 */
export function scenarioSettings(
  scenario: ScenarioName,
  adapter: AdapterName,
  shards: number,
  members: number,
): ScenarioSettings {
  const none: ScenarioSettings = {
    bus: {},
    adapterOptions: {},
    backpressure: undefined,
    waves: undefined,
    outage: undefined,
    ownServer: false,
    members: 0,
    chunkSize: undefined,
  };
  switch (scenario) {
    case "steady":
      return none;
    case "burst":
      return {
        ...none,
        bus: {
          ringCapacity: 1_024,
          batch: { minSize: 64, maxSize: 512 },
          scaling: { ...BURST_SCALING, minShards: shards, maxShards: shards * 4 },
        },
        backpressure: "block",
        // Chunks far larger than a ring: each fills the rings before the pumps get a turn.
        chunkSize: 16_384,
        waves: { burstEvents: 40_000, pauseMs: 150 },
      };
    case "outage":
      return {
        ...none,
        bus: {
          ringCapacity: 8_192,
          adapterTimeoutMs: 2_000,
          retries: 40,
          retryBaseDelayMs: 100,
          retryMaxDelayMs: 400,
        },
        adapterOptions: FAST_FAILING[adapter] ?? {},
        backpressure: "block",
        outage: { atShare: 1 / 3, downMs: OUTAGE_DOWN_MS },
        ownServer: true,
      };
    case "group":
      return { ...none, members };
  }
}

/** Adapters whose outage the playground can stage (it starts their server itself). */
export const OUTAGE_ADAPTERS: readonly AdapterName[] = ["redis", "jetstream"];

/**
 * Why `scenario` cannot run on `adapter` with these options, or `undefined` when it can. The group
 * scenario is checked later, against the adapter itself (does it offer `coordination()`?).
 */
export function scenarioRefusal(
  scenario: ScenarioName,
  adapter: AdapterName,
  url: string | undefined,
): string | undefined {
  if (scenario === "outage") {
    if (!OUTAGE_ADAPTERS.includes(adapter)) {
      return `--scenario outage stops and restarts a server the playground starts itself: use --adapter ${OUTAGE_ADAPTERS.join(" or ")} (got ${adapter})`;
    }
    if (url !== undefined) {
      return "--scenario outage starts its own server on a free loopback port (it will not kill a server it did not start): drop --url";
    }
  }
  return undefined;
}
