import type { Adapter, BackpressureOption, BusStats, DropCounts, RejectCounts } from "@netmesh/core";
import type { AdapterName, Backend, ReplicationView } from "./backends/backend.js";
import type { DiagnosticsTap, TapTotals, TimelineEntry } from "./diagnostics-tap.js";
import { METRICS_SOURCE, type SessionKind } from "./events.js";
import { formatCount } from "./format.js";
import type { MemberFigures } from "./group.js";
import type { Ledger } from "./ledger.js";
import type { OutageFigures } from "./outage.js";
import type { PlaygroundOptions } from "./run.js";
import type { ScenarioName } from "./scenario.js";
import type { IngestPath, PathCount, Sender } from "./sender.js";
import type { Verification } from "./verify.js";
import type { Workload } from "./workload.js";

/** How the run checked what was stored. */
export type VerificationMode = "read-back" | "group" | "counts";

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
    readonly adapter: AdapterName;
    /** Where the backend is and what the run stored under (prefix, stream). */
    readonly backend: string;
    readonly scenario: ScenarioName;
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
    readonly uncertain: number;
    readonly uncertainBy: DropCounts;
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
  /** Per shard, every shard that existed during the run (removed ones count only in `readBack`). */
  readonly shards: readonly {
    readonly id: number;
    readonly state: string;
    readonly ingested: number;
    readonly dispatched: number;
    readonly batches: number;
    readonly readBack: number;
  }[];
  /** Shard counts: initial, added and removed by scaling, active at the end. */
  readonly topology: {
    readonly initial: number;
    readonly added: number;
    readonly draining: number;
    readonly removed: number;
    readonly active: number;
  };
  /** From the bus's diagnostics events: retries, backpressure flips, batches dropped whole. */
  readonly diagnostics: TapTotals;
  readonly timeline: readonly TimelineEntry[];
  readonly outage: OutageFigures | undefined;
  readonly group: { readonly name: string; readonly members: readonly MemberFigures[] } | undefined;
  /** The replica's figures at the end of the run (`--replica`), from `@netmesh/replication-metrics`. */
  readonly replication: ReplicationView | undefined;
  readonly sessions: {
    readonly started: Readonly<Record<SessionKind, number>>;
    readonly total: number;
    readonly verified: number;
  };
  readonly unkeyed: { readonly sent: number; readonly verified: boolean };
  readonly verification: Verification & { readonly pages: number; readonly mode: VerificationMode };
  readonly shutdown: { readonly lossy: boolean; readonly errors: readonly string[] };
  /** What the run removed from the backend at the end. */
  readonly cleanup: string;
}

/** What a finished run hands to {@link buildSummary}. */
export interface RunFacts {
  readonly options: PlaygroundOptions;
  readonly scenario: ScenarioName;
  readonly backend: Backend;
  /** The backpressure mode in force (the scenario's or the option's). */
  readonly backpressure: BackpressureOption;
  /** Taken after the flush: quiescent. */
  readonly stats: BusStats;
  /** The diagnostics totals taken in the same instant as {@link RunFacts.stats}, so the two agree. */
  readonly totalsAtStats: TapTotals;
  readonly workload: Workload;
  readonly sender: Sender;
  readonly verification: Verification & { readonly pages: number };
  readonly tap: DiagnosticsTap;
  readonly interrupted: boolean;
  readonly outage: OutageFigures | undefined;
  readonly group: PlaygroundSummary["group"];
  readonly replication: ReplicationView | undefined;
  readonly cleanup: string;
  readonly shutdown: PlaygroundSummary["shutdown"];
  readonly timings: PlaygroundSummary["timings"];
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
 * The verdict of a run on an adapter that stores nothing (noop): nothing can be read back, so the
 * counts must agree instead — the adapter received exactly the events and batches the bus says it
 * dispatched, and the bus accepted exactly what its answers said.
 */
export function countsVerification(adapter: Adapter, stats: BusStats, ledger: Ledger): Verification {
  const counted = adapter as Adapter & { readonly events?: unknown; readonly batches?: unknown };
  const events = typeof counted.events === "number" ? counted.events : Number.NaN;
  const batches = typeof counted.batches === "number" ? counted.batches : Number.NaN;
  const issues: Partial<Record<"countMismatch" | "dropped", number>> = {};
  const examples: string[] = [];
  const mismatch = (text: string) => {
    issues.countMismatch = (issues.countMismatch ?? 0) + 1;
    examples.push(text);
  };
  if (events !== stats.dispatched)
    mismatch(`the adapter received ${events} events, the bus dispatched ${stats.dispatched}`);
  if (batches !== stats.batches)
    mismatch(`the adapter received ${batches} batches, the bus counted ${stats.batches}`);
  if (stats.ingested !== ledger.expectedAccepted) {
    mismatch(`the bus counted ${stats.ingested} ingested, its answers accepted ${ledger.expectedAccepted}`);
  }
  if (stats.dropped > 0) {
    issues.dropped = 1;
    examples.push(`the bus dropped ${stats.dropped} accepted events`);
  }
  return {
    ok: Object.keys(issues).length === 0,
    readBack: Number.isNaN(events) ? 0 : events,
    expected: ledger.expectedAccepted,
    issues,
    examples,
    streams: {},
    eventTypes: {},
    perShard: {},
    withoutMessageId: 0,
  };
}

/** Builds the summary of a finished run. */
export function buildSummary(facts: RunFacts): PlaygroundSummary {
  const { options, stats, verification, workload, sender, tap, backend } = facts;
  const mode: VerificationMode = !backend.readable
    ? "counts"
    : facts.group !== undefined
      ? "group"
      : "read-back";
  const ok = verification.ok && facts.shutdown.errors.length === 0;
  const what =
    mode === "counts"
      ? "counted by the adapter"
      : mode === "group"
        ? "delivered to the group once"
        : "came back";
  const verdict = ok
    ? `OK: every accepted event ${what} (${formatCount(verification.readBack)} events)`
    : describeFailure(verification, facts.shutdown.errors);
  const totals = facts.totalsAtStats;
  const live = new Map(stats.shards.map((shard) => [shard.id, shard]));
  const ids = new Set<number>([
    ...live.keys(),
    ...tap.shardsSeen,
    ...Object.keys(verification.perShard).map(Number),
  ]);
  const chat = verification.streams.chat ?? { streams: 0, verified: 0 };
  const agent = verification.streams.agent ?? { streams: 0, verified: 0 };
  return {
    ok,
    verdict,
    config: {
      sessions: options.sessions,
      events: options.events,
      shards: options.shards,
      seed: options.seed,
      backpressure: backpressureName(facts.backpressure),
      ringCapacity: stats.shards[0]?.capacity ?? 0,
      adapter: backend.name,
      backend: backend.description,
      scenario: facts.scenario,
    },
    interrupted: facts.interrupted,
    produced: workload.produced,
    timings: facts.timings,
    rates: {
      ingestPerSecond: perSecond(stats.ingested, facts.timings.ingestMs),
      storedPerSecond: perSecond(stats.dispatched, facts.timings.ingestMs + facts.timings.flushMs),
      readBackPerSecond: perSecond(verification.readBack, facts.timings.readBackMs),
    },
    bus: {
      ingested: stats.ingested,
      dispatched: stats.dispatched,
      dropped: stats.dropped,
      droppedBy: { ...stats.droppedBy },
      uncertain: stats.uncertain,
      uncertainBy: { ...stats.uncertainBy },
      rejected: stats.rejected,
      rejectedBy: { ...stats.rejectedBy },
      batches: stats.batches,
      meanBatchSize: stats.batches === 0 ? 0 : stats.dispatched / stats.batches,
    },
    paths: sender.paths,
    waitingChunks: sender.waitingChunks,
    unoffered: sender.unoffered,
    shards: [...ids]
      .sort((a, b) => a - b)
      .map((id) => {
        const shard = live.get(id);
        return {
          id,
          state: shard?.state ?? "removed",
          ingested: shard?.ingested ?? 0,
          dispatched: shard?.dispatched ?? 0,
          batches: shard?.batches ?? 0,
          readBack: verification.perShard[id] ?? 0,
        };
      }),
    topology: {
      initial: options.shards,
      added: totals.scaling.added,
      draining: stats.scaling.draining,
      removed: stats.scaling.removed,
      active: stats.scaling.active,
    },
    diagnostics: totals,
    timeline: [...tap.timeline],
    outage: facts.outage,
    group: facts.group,
    replication: facts.replication,
    sessions: {
      started: { ...workload.started },
      total: chat.streams + agent.streams,
      verified: chat.verified + agent.verified,
    },
    unkeyed: {
      sent: workload.ledger.get(METRICS_SOURCE)?.length ?? 0,
      verified: (verification.streams.metrics?.verified ?? 0) === 1,
    },
    verification: { ...verification, mode },
    shutdown: facts.shutdown,
    cleanup: facts.cleanup,
  };
}
