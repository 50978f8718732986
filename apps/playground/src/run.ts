import { setImmediate as nextTurn } from "node:timers/promises";
import {
  type BackpressureOption,
  type BusOptions,
  type BusStats,
  type DropCounts,
  type EventBus,
  type RejectCounts,
  createBus,
} from "@netmesh/core";
import { formatCount } from "./format.js";
import { METRICS_SOURCE, type SessionKind } from "./events.js";
import { type Progress, type ProgressSample, silentProgress } from "./progress.js";
import { readBack } from "./read-back.js";
import { type IngestPath, type PathCount, Sender } from "./sender.js";
import { MAX_STEP_EVENTS } from "./session.js";
import { ReadBackVerifier, type Verification } from "./verify.js";
import { Workload } from "./workload.js";

/** What to run. The CLI fills it from its flags; tests call {@link runPlayground} directly. */
export interface PlaygroundOptions {
  readonly sessions: number;
  /** Approximate total number of events. */
  readonly events: number;
  readonly shards: number;
  readonly seed: number;
  readonly backpressure: BackpressureOption;
  /** Bus settings the CLI does not expose (tests use a tiny ring to force waiting for room). */
  readonly bus?: Pick<BusOptions, "ringCapacity" | "batch">;
  /** Events produced between two yields to the event loop. Default 4,096. */
  readonly chunkSize?: number;
  readonly progress?: Progress;
  /** Aborting stops producing; what was accepted is still flushed, read back and verified. */
  readonly signal?: AbortSignal;
}

/** Everything the summary reports; also what `--json` prints. */
export interface PlaygroundSummary {
  /** True when every accepted event came back and the bus shut down cleanly. */
  readonly ok: boolean;
  /** The final line: `OK: …` or `FAIL: …`. */
  readonly verdict: string;
  readonly config: {
    readonly sessions: number;
    readonly events: number;
    readonly shards: number;
    readonly seed: number;
    readonly backpressure: string;
    readonly ringCapacity: number;
  };
  /** True when the run was stopped early (Ctrl-C). */
  readonly interrupted: boolean;
  /** Events the workload generated (accepted or not). */
  readonly produced: number;
  readonly timings: {
    readonly ingestMs: number;
    readonly flushMs: number;
    readonly readBackMs: number;
    readonly shutdownMs: number;
    readonly totalMs: number;
  };
  readonly rates: {
    /** Accepted events per second while producing. */
    readonly ingestPerSecond: number;
    /** Accepted events per second until the flush completed (everything stored). */
    readonly storedPerSecond: number;
    readonly readBackPerSecond: number;
  };
  readonly bus: {
    readonly ingested: number;
    readonly dispatched: number;
    readonly dropped: number;
    readonly droppedBy: DropCounts;
    readonly rejected: number;
    readonly rejectedBy: RejectCounts;
    readonly batches: number;
    readonly meanBatchSize: number;
  };
  readonly paths: Readonly<Record<IngestPath, PathCount>>;
  /** Chunks that went through the waiting calls because a ring was short of room (`block` only). */
  readonly waitingChunks: number;
  /** Events never offered to the bus: the rest of a burst after a fail-producer refusal. */
  readonly unoffered: number;
  readonly shards: readonly {
    readonly id: number;
    readonly ingested: number;
    readonly dispatched: number;
    readonly batches: number;
    readonly readBack: number;
  }[];
  readonly sessions: {
    readonly started: Readonly<Record<SessionKind, number>>;
    readonly total: number;
    readonly verified: number;
  };
  readonly unkeyed: { readonly sent: number; readonly verified: boolean };
  readonly verification: Verification & { readonly pages: number };
  readonly shutdown: { readonly lossy: boolean; readonly errors: readonly string[] };
}

const DEFAULT_CHUNK_SIZE = 4_096;

/** The bus counters the progress line shows. */
function busSample(bus: EventBus): ProgressSample {
  const { ingested, dispatched, pending } = bus.stats();
  return { ingested, dispatched, pending };
}

/**
 * Feeds the workload to the bus in chunks of about `chunkSize` events, yielding to the event loop
 * after each so the shard pumps, their timers and the progress line get to run. Returns true when it
 * stopped because `signal` aborted. Bounded: the workload is finite and every step is non-empty.
 */
async function produce(
  workload: Workload,
  sender: Sender,
  chunkSize: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  while (!workload.done) {
    if (signal?.aborted) return true;
    // A chunk can overshoot by one step, so size the room check for the largest step too.
    sender.beginChunk(chunkSize + MAX_STEP_EVENTS);
    for (let inChunk = 0; inChunk < chunkSize; ) {
      const step = workload.next();
      if (step === undefined) return false;
      const waiting = sender.send(step);
      if (waiting !== undefined) await waiting;
      inChunk += step.events.length;
    }
    await nextTurn();
  }
  return false;
}

/** Events per second; 0 for an empty interval (an aborted run), never Infinity or NaN. */
function perSecond(events: number, ms: number): number {
  return ms > 0 ? (events * 1000) / ms : 0;
}

function backpressureName(option: BackpressureOption): string {
  return typeof option === "string" ? option : `sample:${option.rate}`;
}

function describeFailure(verification: Verification, shutdownErrors: readonly string[]): string {
  const parts = Object.entries(verification.issues).map(([kind, count]) => `${formatCount(count)} ${kind}`);
  if (verification.readBack !== verification.expected) {
    parts.unshift(
      `${formatCount(verification.readBack)} of ${formatCount(verification.expected)} accepted events came back`,
    );
  }
  if (shutdownErrors.length > 0) parts.push(`${shutdownErrors.length} shutdown errors`);
  return `FAIL: ${parts.join(", ")}`;
}

/**
 * Runs the whole playground: starts a bus on the embedded memory adapter, produces the workload,
 * flushes, reads every shard back through `pollShard`, verifies it against what the bus accepted, shuts
 * the bus down and returns the summary. Never prints; the caller decides what to show.
 */
export async function runPlayground(options: PlaygroundOptions): Promise<PlaygroundSummary> {
  const progress = options.progress ?? silentProgress;
  const startedAt = performance.now();
  // No adapter option: the bus uses its embedded default, a MemoryAdapter, which is what this shows.
  const bus = await createBus({ shards: options.shards, backpressure: options.backpressure, ...options.bus });
  try {
    const workload = new Workload(options, (key) => bus.shardFor(key));
    const sender = new Sender(bus, workload.ledger, options.backpressure);

    progress.phase("ingest", () => busSample(bus));
    const ingestStart = performance.now();
    const interrupted = await produce(
      workload,
      sender,
      options.chunkSize ?? DEFAULT_CHUNK_SIZE,
      options.signal,
    );
    const ingestMs = performance.now() - ingestStart;

    progress.phase("flush", () => busSample(bus));
    await bus.flush();
    const flushMs = performance.now() - ingestStart - ingestMs;
    const stats = bus.stats();

    let done = 0;
    progress.phase("read-back", () => ({ ...busSample(bus), readBack: { done, total: stats.dispatched } }));
    const readStart = performance.now();
    const verifier = new ReadBackVerifier(workload.ledger);
    const read = await readBack(
      bus.adapter,
      bus.shardCount,
      stats.dispatched,
      (event, shard) => verifier.add(event, shard),
      {
        onPage: (count) => {
          done = count;
        },
      },
    );
    for (const problem of read.problems) verifier.addPagingProblem(problem);
    const verification = verifier.finish(stats);
    const readBackMs = performance.now() - readStart;
    progress.stop();

    const shutdownStart = performance.now();
    const report = await bus.shutdown();
    const shutdownMs = performance.now() - shutdownStart;
    const errors = report.errors.map((error) => error.message);
    const ok = verification.ok && errors.length === 0;
    return {
      ok,
      verdict: ok
        ? `OK: every accepted event came back (${formatCount(verification.readBack)} events)`
        : describeFailure(verification, errors),
      config: {
        sessions: options.sessions,
        events: options.events,
        shards: bus.shardCount,
        seed: options.seed,
        backpressure: backpressureName(options.backpressure),
        ringCapacity: stats.shards[0]?.capacity ?? 0,
      },
      interrupted,
      produced: workload.produced,
      timings: { ingestMs, flushMs, readBackMs, shutdownMs, totalMs: performance.now() - startedAt },
      rates: {
        ingestPerSecond: perSecond(stats.ingested, ingestMs),
        storedPerSecond: perSecond(stats.dispatched, ingestMs + flushMs),
        readBackPerSecond: perSecond(verification.readBack, readBackMs),
      },
      bus: busFigures(stats),
      paths: sender.paths,
      waitingChunks: sender.waitingChunks,
      unoffered: sender.unoffered,
      shards: stats.shards.map((shard) => ({
        id: shard.id,
        ingested: shard.ingested,
        dispatched: shard.dispatched,
        batches: shard.batches,
        readBack: verification.perShard[shard.id] ?? 0,
      })),
      sessions: sessionFigures(workload, verification),
      unkeyed: {
        sent: workload.ledger.get(METRICS_SOURCE)?.length ?? 0,
        verified: (verification.streams.metrics?.verified ?? 0) === 1,
      },
      verification: { ...verification, pages: read.pages },
      shutdown: { lossy: report.lossy, errors },
    };
  } finally {
    progress.stop();
    // Idempotent: a no-op after the shutdown above, the cleanup when something threw.
    await bus.shutdown();
  }
}

function busFigures(stats: BusStats): PlaygroundSummary["bus"] {
  return {
    ingested: stats.ingested,
    dispatched: stats.dispatched,
    dropped: stats.dropped,
    droppedBy: { ...stats.droppedBy },
    rejected: stats.rejected,
    rejectedBy: { ...stats.rejectedBy },
    batches: stats.batches,
    meanBatchSize: stats.batches === 0 ? 0 : stats.dispatched / stats.batches,
  };
}

function sessionFigures(workload: Workload, verification: Verification): PlaygroundSummary["sessions"] {
  const chat = verification.streams.chat ?? { streams: 0, verified: 0 };
  const agent = verification.streams.agent ?? { streams: 0, verified: 0 };
  return {
    started: { ...workload.started },
    total: chat.streams + agent.streams,
    verified: chat.verified + agent.verified,
  };
}
