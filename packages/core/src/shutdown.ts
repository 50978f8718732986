import type { ResolvedConfig } from "./config.js";
import type { Adapter } from "./contract/adapter.js";
import type { ProducerState } from "./producer-state.js";
import type { Shard } from "./shard.js";
import type { BusStats } from "./stats.js";
import { withTimeout } from "./with-timeout.js";

/** Options of `EventBus.shutdown()`. */
export interface ShutdownOptions {
  /**
   * Longest time to wait for pending events to be dispatched, in ms. When it passes, in-flight
   * attempts are abandoned and everything still pending is dropped (reason `shutdownDeadline`).
   * Default: no deadline; every pending event is sent (each adapter call is still bounded).
   */
  readonly deadlineMs?: number;
}

/** What `EventBus.shutdown()` resolves with. */
export interface ShutdownReport {
  /** True when at least one accepted event was dropped during the bus's life (see `stats.droppedBy`). */
  readonly lossy: boolean;
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
}

/** Throws a RangeError for an invalid deadline (checked before the bus closes). */
export function checkShutdownOptions(options: ShutdownOptions): void {
  const { deadlineMs } = options;
  if (deadlineMs !== undefined && !(typeof deadlineMs === "number" && deadlineMs >= 0)) {
    throw new RangeError(`shutdown deadlineMs must be a number ≥ 0, got ${String(deadlineMs)}`);
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Waits for `promise` up to `ms`; true if it settled in time. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
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

  for (const pump of pumps) pump.stop();
  const drained = Promise.all(pumps.map((pump) => pump.done));
  if (deadlineMs !== undefined && !(await settlesWithin(drained, deadlineMs))) {
    logger.warn({ deadlineMs }, "shutdown deadline passed; dropping what is still pending");
    stopController.abort();
    for (const pump of pumps) pump.abort();
  }
  await drained;

  const errors: Error[] = [];
  const attempt = async (what: string, call: () => Promise<void>) => {
    try {
      await withTimeout(what, config.adapterTimeoutMs, call);
    } catch (error) {
      errors.push(asError(error));
      logger.error({ adapter: adapter.name, error: asError(error).message }, `${what} failed`);
    }
  };
  await attempt(`${adapter.name}.flush`, () => adapter.flush());
  await attempt(`${adapter.name}.shutdown`, () => adapter.shutdown());
  try {
    await producerState.close(new Map(shards.map((shard) => [shard.id, shard.nextSequence])));
  } catch (error) {
    errors.push(asError(error));
    logger.error({ error: asError(error).message }, "saving the producer state failed");
  }

  const stats = target.stats();
  const report: ShutdownReport = {
    lossy: stats.dropped > 0,
    stats,
    errors,
    durationMs: performance.now() - startedAt,
  };
  const fields = { ingested: stats.ingested, dispatched: stats.dispatched, dropped: stats.droppedBy };
  if (report.lossy) logger.warn(fields, "event bus shut down with dropped events");
  else logger.info(fields, "event bus shut down; nothing dropped");
  return report;
}
