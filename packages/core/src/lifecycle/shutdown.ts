import type { ResolvedConfig } from "../config.js";
import type { Adapter } from "../contract/adapter.js";
import type { ProducerState } from "./producer-state.js";
import type { Shard } from "../shard/shard.js";
import type { BusStats } from "../stats.js";
import { type ShutdownPhaseMessage, channels } from "../diagnostics/channels.js";
import { describeValue } from "../errors.js";
import { withTimeout } from "./timers.js";

/** Options of `EventBus.shutdown()`. */
export interface ShutdownOptions {
  /**
   * Longest time the whole shutdown may take, in ms: `shutdown()` resolves within it (plus timer
   * slack) whatever the adapter or its backend does. Pending events get what is left of it; when it
   * passes, in-flight attempts are abandoned and everything still pending is dropped (reason
   * `shutdownDeadline`; abandoned in-flight events count as `uncertain`). The adapter's `flush`,
   * `shutdown` and the producer-state save then get only what remains, each also bounded by
   * `adapterTimeoutMs`; one that does not finish in time is reported in `errors` and left to finish
   * in the background. Default (and `Infinity`): no deadline; every pending event is sent (each
   * adapter call is still bounded by `adapterTimeoutMs`). Any value past setTimeout's range is honoured.
   */
  readonly deadlineMs?: number;
  /**
   * How long shutdown lets running subscriptions (`bus.subscribe()`) deliver what is stored before it
   * closes the adapter, in ms (and never past `deadlineMs`). A subscription ends by itself once it has
   * delivered everything; one whose consumer stopped iterating is not waited for longer. Default 10,000;
   * `Infinity` waits for them to end.
   */
  readonly subscriptionGraceMs?: number;
}

/** What `EventBus.shutdown()` resolves with. */
export interface ShutdownReport {
  /** True when at least one accepted event was dropped during the bus's life (see `stats.droppedBy`). */
  readonly lossy: boolean;
  /** Dropped events certainly not stored: `stats.dropped − stats.uncertain`. */
  readonly lost: number;
  /** Dropped events that may be in the backend all the same (`stats.uncertain`). */
  readonly uncertain: number;
  /** Final counters; `pending` is 0 and `ingested = dispatched + dropped`. */
  readonly stats: BusStats;
  /** Failures of the adapter's `flush`/`shutdown` or of saving the producer state, in that order. */
  readonly errors: readonly Error[];
  /** How long the shutdown took, in ms. */
  readonly durationMs: number;
}

/** Everything the shutdown sequence touches. */
export interface ShutdownTarget {
  readonly options: ShutdownOptions;
  readonly adapter: Adapter;
  readonly config: ResolvedConfig;
  /** The live shards when shutdown began (active and draining). */
  readonly shards: readonly Shard[];
  readonly producerState: ProducerState;
  readonly stopController: AbortController;
  readonly stats: () => BusStats;
  /** Called once every accepted event is settled (dispatched or dropped). */
  readonly onDrained: () => void;
  /** Called just before the adapter is shut down: reads are no longer possible. */
  readonly onAdapterClosing: () => void;
  /** Running subscription iterations, each settling when it ends. */
  readonly subscriptions: () => Promise<void>[];
}

/** Default of {@link ShutdownOptions.subscriptionGraceMs}. */
const DEFAULT_SUBSCRIPTION_GRACE_MS = 10_000;

/** Throws a RangeError for an invalid deadline (checked before the bus closes). */
export function checkShutdownOptions(options: ShutdownOptions): void {
  const { deadlineMs, subscriptionGraceMs } = options;
  if (deadlineMs !== undefined && !(typeof deadlineMs === "number" && deadlineMs >= 0)) {
    throw new RangeError(`shutdown deadlineMs must be a number ≥ 0, got ${describeValue(deadlineMs)}`);
  }
  if (
    subscriptionGraceMs !== undefined &&
    !(typeof subscriptionGraceMs === "number" && subscriptionGraceMs >= 0)
  ) {
    throw new RangeError(
      `shutdown subscriptionGraceMs must be a number ≥ 0, got ${describeValue(subscriptionGraceMs)}`,
    );
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * The shutdown sequence, run once per bus (the caller has already closed ingest): drain every shard
 * (concurrently), bounded by the optional deadline; persist the producer state; then the adapter's
 * `flush` and `shutdown`, exactly once each, each bounded by the adapter timeout.
 */
export async function shutDown(target: ShutdownTarget): Promise<ShutdownReport> {
  const { options, adapter, config, shards, producerState, stopController } = target;
  const pumps = shards.map((shard) => shard.pump);
  const { logger } = config;
  const startedAt = performance.now();
  const deadlineMs = options.deadlineMs;
  // What each later step may take: what is left of the deadline, never more than the adapter timeout.
  const bound = () =>
    deadlineMs === undefined
      ? config.adapterTimeoutMs
      : Math.min(config.adapterTimeoutMs, Math.max(0, startedAt + deadlineMs - performance.now()));

  const phase = (name: ShutdownPhaseMessage["phase"]) => {
    if (channels.shutdownPhase.hasSubscribers) {
      channels.shutdownPhase.publish({
        producer: producerState.producer,
        phase: name,
        elapsedMs: performance.now() - startedAt,
      });
    }
  };
  phase("draining");
  for (const pump of pumps) pump.stop();
  const drained = Promise.all(pumps.map((pump) => pump.done));
  if (deadlineMs !== undefined) {
    const inTime = await withTimeout("drain", deadlineMs, () => drained).then(
      () => true,
      () => false,
    );
    if (!inTime) {
      logger.warn({ deadlineMs }, "shutdown deadline passed; dropping what is still pending");
      stopController.abort();
      for (const pump of pumps) pump.abort();
    }
  }
  await drained;
  target.onDrained();
  phase("drained");

  const errors: Error[] = [];
  const step = async (what: string, call: () => Promise<void>) => {
    try {
      await withTimeout(what, bound(), call);
    } catch (error) {
      errors.push(asError(error));
      logger.error({ adapter: adapter.name, step: what, err: error }, "shutdown step failed");
    }
  };
  phase("flushing");
  await step(`${adapter.name}.flush`, () => adapter.flush());
  const running = target.subscriptions();
  if (running.length > 0) {
    phase("waitingForSubscriptions");
    const grace = options.subscriptionGraceMs ?? DEFAULT_SUBSCRIPTION_GRACE_MS;
    const left =
      deadlineMs === undefined
        ? grace
        : Math.min(grace, Math.max(0, startedAt + deadlineMs - performance.now()));
    const finished = await withTimeout("subscriptions", left, () => Promise.all(running)).then(
      () => true,
      () => false,
    );
    if (!finished)
      logger.warn(
        { subscriptions: running.length, graceMs: left },
        "closing the adapter under running subscriptions",
      );
  }
  phase("closingAdapter");
  target.onAdapterClosing();
  await step(`${adapter.name}.shutdown`, () => adapter.shutdown());
  await step("saving the producer state", () =>
    producerState.close(new Map(shards.map((shard) => [shard.id, shard.nextSequence]))),
  );

  const stats = target.stats();
  const report: ShutdownReport = {
    lossy: stats.dropped > 0,
    lost: stats.dropped - stats.uncertain,
    uncertain: stats.uncertain,
    stats,
    errors,
    durationMs: performance.now() - startedAt,
  };
  const fields = {
    ingested: stats.ingested,
    dispatched: stats.dispatched,
    dropped: stats.droppedBy,
    uncertain: stats.uncertain,
  };
  phase("done");
  if (report.lossy) logger.warn(fields, "event bus shut down with dropped events");
  else logger.info(fields, "event bus shut down; nothing dropped");
  return report;
}
