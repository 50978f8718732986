import { setTimeout as sleep } from "node:timers/promises";
import {
  type Adapter,
  type BackpressureOption,
  type BusOptions,
  type BusStats,
  type EventBus,
  createBus,
  createReader,
} from "@netmesh/core";
import type {
  AdapterName,
  AdapterOptionValue,
  Backend,
  ReplicationView,
  ReplicationWatch,
} from "./backends/backend.js";
import { openBackend } from "./backends/open.js";
import { ConsumerGauge, type LiveTail, startLiveTail } from "./consumers.js";
import { DiagnosticsTap } from "./diagnostics-tap.js";
import { type RunningGroup, groupRefusal, startGroup } from "./group.js";
import { Outage, type OutageFigures } from "./outage.js";
import { produce } from "./produce.js";
import { type Progress, type ProgressSample, silentProgress } from "./progress.js";
import { readBack } from "./read-back.js";
import { type ScenarioName, scenarioRefusal, scenarioSettings } from "./scenario.js";
import { Sender } from "./sender.js";
import { type PlaygroundSummary, type RunFacts, buildSummary, countsVerification } from "./summary.js";
import { ReadBackVerifier, type Verification } from "./verify.js";
import { Workload } from "./workload.js";

export type { PlaygroundSummary } from "./summary.js";

/** What to run. The CLI fills it from its flags; tests call {@link runPlayground} directly. */
export interface PlaygroundOptions {
  readonly sessions: number;
  /** Approximate total number of events. */
  readonly events: number;
  readonly shards: number;
  readonly seed: number;
  readonly backpressure: BackpressureOption;
  /** Default `"memory"`. */
  readonly adapter?: AdapterName;
  /** The backend's address (`--url`). */
  readonly url?: string | undefined;
  /** Extra adapter constructor options (`--adapter-option key=value`). */
  readonly adapterOptions?: Readonly<Record<string, AdapterOptionValue>>;
  /** Default `"steady"`. */
  readonly scenario?: ScenarioName;
  /** Redis only: run on a master and a replica of the playground's own and watch the replication lag. */
  readonly replica?: boolean;
  /** Consumer-group members of the group scenario. Default 3. */
  readonly members?: number;
  /** Average events per second at most (`--rate`); unlimited by default. */
  readonly rate?: number | undefined;
  /** Bus settings the CLI does not expose (tests use a tiny ring to force waiting for room). */
  readonly bus?: Pick<BusOptions, "ringCapacity" | "batch">;
  /** Events produced between two yields to the event loop. Default 4,096. */
  readonly chunkSize?: number;
  readonly progress?: Progress;
  /** Aborting stops producing; what was accepted is still flushed, read back and verified. */
  readonly signal?: AbortSignal;
  /** Follow the bus with a live subscription (the dashboard's lag and latency). */
  readonly liveTail?: boolean;
  /** Called once the bus runs, with what a dashboard watches. */
  readonly observe?: (run: LiveRun) => void;
}

/** What a running playground exposes to a watcher (the dashboard). */
export interface LiveRun {
  readonly bus: EventBus;
  readonly tap: DiagnosticsTap;
  readonly backend: Backend;
  /** The consumers' counts and latency, when something consumes during the run (tail or group). */
  readonly consumers: ConsumerGauge | undefined;
  /** The current phase: ingest, flush, outage, read-back, consume, shutdown, cleanup. */
  phase(): string;
  /** Events read back (or delivered to the group) so far. */
  verified(): number;
  /** Replication figures, when the run has a replica (`replica`). */
  replication(): ReplicationView | null;
}

/** A run refused before it started: a bad combination of adapter, scenario and options. */
export class PlaygroundUsageError extends Error {
  override readonly name = "PlaygroundUsageError";
}

const DEFAULT_CHUNK_SIZE = 4_096;
const DEFAULT_MEMBERS = 3;
/** Longest wait for the burst's added shards to be drained after the last wave. */
const SCALE_DOWN_WAIT_MS = 6_000;

function busSample(bus: EventBus): ProgressSample {
  const { ingested, dispatched, pending } = bus.stats();
  return { ingested, dispatched, pending };
}

/** Every shard id that may hold events: the live ones and any that scaling added or removed. */
function allShardIds(stats: BusStats, tap: DiagnosticsTap, initial: number): number[] {
  const ids = new Set<number>(tap.shardsSeen);
  for (let id = 0; id < initial; id++) ids.add(id);
  for (const shard of stats.shards) ids.add(shard.id);
  return [...ids].sort((a, b) => a - b);
}

/**
 * Runs the whole playground: opens the backend of `adapter`, starts a bus on it, produces the
 * workload as the scenario says (waves, an outage, a consumer group), flushes, verifies every accepted
 * event against what came back from the backend (a reader's `poll`, the group's deliveries, or the
 * noop adapter's counts), shuts the bus down, removes what the run stored and returns the summary.
 * Never prints; the caller decides what to show. Throws {@link PlaygroundUsageError} for a
 * combination it cannot run.
 */
export async function runPlayground(options: PlaygroundOptions): Promise<PlaygroundSummary> {
  const adapterName = options.adapter ?? "memory";
  const scenario = options.scenario ?? "steady";
  const refusal = scenarioRefusal(scenario, adapterName, options.url);
  if (refusal !== undefined) throw new PlaygroundUsageError(refusal);
  if (options.replica === true && (adapterName !== "redis" || options.url !== undefined)) {
    throw new PlaygroundUsageError(
      "--replica starts a Redis master and replica of the playground's own: use it with --adapter redis and without --url",
    );
  }
  const settings = scenarioSettings(
    scenario,
    adapterName,
    options.shards,
    options.members ?? DEFAULT_MEMBERS,
  );
  const progress = options.progress ?? silentProgress;
  const startedAt = performance.now();
  const backend = await openBackend(
    {
      adapter: adapterName,
      ...(options.url === undefined ? {} : { url: options.url }),
      ownServer: settings.ownServer,
      replica: options.replica === true,
      adapterOptions: { ...settings.adapterOptions, ...options.adapterOptions },
    },
    options.shards,
  );
  let bus: EventBus | undefined;
  let group: RunningGroup | undefined;
  let tail: LiveTail | undefined;
  let tap: DiagnosticsTap | undefined;
  let replication: ReplicationWatch | undefined;
  try {
    const adapter: Adapter = backend.createAdapter();
    if (scenario === "group") {
      const reason = groupRefusal(adapter, backend.name);
      if (reason !== undefined) throw new PlaygroundUsageError(reason);
    }
    const backpressure = settings.backpressure ?? options.backpressure;
    bus = await createBus({ adapter, shards: options.shards, backpressure, ...settings.bus, ...options.bus });
    const running = bus;
    // The timeline starts with the bus (a backend of the playground's own may take seconds to start).
    tap = new DiagnosticsTap(bus.producer);
    replication = backend.watchReplication?.(options.shards);
    const watched = replication;
    const scaling = settings.bus.scaling !== undefined;
    // After scaling a key may have moved: no fixed shard to check, and read back in insertion order.
    const workload = new Workload(options, (key) => (scaling ? undefined : running.shardFor(key)));
    const sender = new Sender(bus, workload.ledger, backpressure);
    const verifier = new ReadBackVerifier(workload.ledger);
    let phase = "ingest";
    let verified = 0;
    const consumers = scenario === "group" || options.liveTail === true ? new ConsumerGauge() : undefined;
    if (scenario === "group" && consumers !== undefined) {
      const shardIds = Array.from({ length: options.shards }, (_, id) => id);
      group = await startGroup(
        backend,
        shardIds,
        settings.members,
        (event) => verifier.add(event),
        consumers,
      );
    } else if (consumers !== undefined) {
      tail = startLiveTail(bus, consumers);
    }
    options.observe?.({
      bus,
      tap,
      backend,
      consumers,
      phase: () => phase,
      verified: () => group?.delivered() ?? verified,
      replication: () => watched?.view() ?? null,
    });
    const outage =
      settings.outage !== undefined && backend.server !== undefined
        ? new Outage(
            backend.server,
            Math.floor(options.events * settings.outage.atShare),
            settings.outage.downMs,
            tap,
          )
        : undefined;

    tap.note("phase", `ingest started: ${scenario} on ${backend.name}`);
    progress.phase("ingest", () => busSample(running));
    const ingestStart = performance.now();
    const interrupted = await produce(workload, sender, {
      chunkSize: options.chunkSize ?? settings.chunkSize ?? DEFAULT_CHUNK_SIZE,
      ...(options.rate === undefined ? {} : { rate: options.rate }),
      ...(settings.waves === undefined ? {} : { waves: settings.waves }),
      ...(outage === undefined ? {} : { onChunk: (produced: number) => outage.onChunk(produced) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const ingestMs = performance.now() - ingestStart;

    phase = "flush";
    progress.phase("flush", () => busSample(running));
    let outageFigures: OutageFigures | undefined;
    if (outage !== undefined) outageFigures = await outage.finished(workload.produced);
    await bus.flush();
    if (scaling) await settleScaling(bus, options.shards);
    const flushMs = performance.now() - ingestStart - ingestMs;
    // One instant for both: the scaling monitor can still change the topology during the read-back.
    const stats = bus.stats();
    const totalsAtStats = tap.totals();
    tap.note("phase", `flushed: ${stats.dispatched} events stored`);

    phase = group === undefined ? "read-back" : "consume";
    progress.phase(phase, () => ({
      ...busSample(running),
      readBack: { done: group?.delivered() ?? verified, total: stats.dispatched },
    }));
    const readStart = performance.now();
    let verification: Verification;
    let pages = 0;
    let members: PlaygroundSummary["group"];
    if (!backend.readable) {
      verification = countsVerification(bus.adapter, stats, workload.ledger);
    } else if (group !== undefined) {
      const finished = await group.finish(stats.dispatched, 30_000 + stats.dispatched / 5);
      group = undefined;
      if (!finished.complete)
        verifier.addPagingProblem(
          `the group received ${consumers?.received ?? 0} of ${stats.dispatched} events within the time allowed`,
        );
      members = { name: "playground", members: finished.members };
      verification = verifier.finish(stats);
    } else {
      const reader = await createReader({
        adapter: backend.createAdapter(),
        shards: allShardIds(stats, tap, options.shards),
      });
      try {
        const read = await readBack(reader, stats.dispatched, (event) => verifier.add(event), {
          order: tap.totals().scaling.added > 0 ? "insertion" : "none",
          onPage: (count) => {
            verified = count;
          },
        });
        for (const problem of read.problems) verifier.addPagingProblem(problem);
        pages = read.pages;
      } finally {
        await reader.close();
      }
      verification = verifier.finish(stats);
    }
    const readBackMs = performance.now() - readStart;
    progress.stop();

    const replicationView = await replication?.settled();
    await replication?.stop();
    phase = "shutdown";
    await tail?.stop();
    tail = undefined;
    const shutdownStart = performance.now();
    const report = await bus.shutdown();
    const shutdownMs = performance.now() - shutdownStart;
    phase = "cleanup";
    const cleanup = await backend.cleanup();
    tap.note("phase", `done; ${cleanup}`);
    const facts: RunFacts = {
      options,
      scenario,
      backend,
      backpressure,
      stats,
      totalsAtStats,
      workload,
      sender,
      verification: { ...verification, pages },
      tap,
      interrupted,
      outage: outageFigures,
      group: members,
      replication: replicationView,
      cleanup,
      shutdown: { lossy: report.lossy, errors: report.errors.map((error) => error.message) },
      timings: { ingestMs, flushMs, readBackMs, shutdownMs, totalMs: performance.now() - startedAt },
    };
    phase = "done";
    return buildSummary(facts);
  } finally {
    progress.stop();
    await group?.abort();
    await tail?.stop();
    await replication?.stop();
    tap?.close();
    // Idempotent: no-ops after a normal run, the cleanup when something threw.
    await bus?.shutdown();
    await backend.cleanup().catch(() => "");
  }
}

/**
 * After the burst's last wave: waits (bounded) while the scaling monitor drains the shards it added,
 * so the run shows scaling both ways, then flushes what the drained shards still held.
 */
async function settleScaling(bus: EventBus, minShards: number): Promise<void> {
  const deadline = performance.now() + SCALE_DOWN_WAIT_MS;
  while (performance.now() < deadline) {
    const { active, draining } = bus.stats().scaling;
    if (draining === 0 && active <= minShards) break;
    await sleep(100);
  }
  await bus.flush();
}
