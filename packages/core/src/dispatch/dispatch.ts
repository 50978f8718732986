import type { Adapter } from "../contract/adapter.js";
import { adapterErrorKind, failedWithoutStoring } from "../contract/adapter-errors.js";
import type { Batch, EventRejection } from "../contract/batch.js";
import type { Logger } from "../contract/logger.js";
import { channels } from "../diagnostics/channels.js";
import { sleep } from "../lifecycle/timers.js";
import { retryDelayMs } from "./backoff.js";
import { DispatchedMessage } from "./dispatched-message.js";
import type { OutgoingBatch } from "./outgoing-batch.js";
import type { DropReason } from "../stats.js";

/** What {@link dispatchWithRetry} needs besides the batch. */
export interface DispatchContext {
  readonly adapter: Adapter;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly logger: Logger;
  /** Aborted when the bus gives up on pending work (shutdown deadline). */
  readonly stop: AbortSignal;
  /** The bus's producer nonce, for diagnostics messages. */
  readonly producer: string;
}

/**
 * `"dispatched"` (every event stored), the events the adapter refused while storing the rest, or the
 * reason the whole batch was dropped.
 */
export type DispatchOutcome = "dispatched" | RejectedEvents | BatchDrop;

/**
 * The bus gave up on the whole batch. `uncertain` when an attempt may have stored it all the same (it
 * timed out, was abandoned, or failed after the request may have reached the backend): those events
 * are counted apart, since they may be in the backend.
 */
export interface BatchDrop {
  readonly drop: DropReason;
  readonly uncertain: boolean;
}

/** The events of a batch that the adapter refused while storing the others. */
export interface RejectedEvents {
  readonly rejected: readonly EventRejection[];
}

type Attempt =
  | { ok: true; result: unknown }
  | { ok: false; error: unknown; timedOut: boolean; stopped: boolean };

const REJECTION_REASONS: ReadonlySet<unknown> = new Set(["tooLarge", "invalidText", "refused"]);

/**
 * Reads what `onBatch` resolved with (contract rule 2): `"dispatched"`, the refused events, or
 * `undefined` when the result breaks the contract (indices out of range, repeated or unordered, an
 * unknown reason), which the caller treats as a non-retryable failure of the whole batch.
 */
function readResult(result: unknown, size: number): RejectedEvents | "dispatched" | undefined {
  if (result === undefined || result === null) return "dispatched";
  if (typeof result !== "object") return undefined;
  const rejected = (result as { rejected?: unknown }).rejected;
  if (rejected === undefined) return "dispatched";
  if (!Array.isArray(rejected)) return undefined;
  if (rejected.length === 0) return "dispatched";
  let previous = -1;
  for (const rejection of rejected as unknown[]) {
    if (typeof rejection !== "object" || rejection === null) return undefined;
    const { index, reason } = rejection as Partial<EventRejection>;
    if (!Number.isInteger(index) || index! <= previous || index! >= size) return undefined;
    if (!REJECTION_REASONS.has(reason)) return undefined;
    previous = index!;
  }
  return { rejected: rejected as EventRejection[] };
}

/**
 * One bounded `onBatch` call. Never rejects; a late settlement of an abandoned call is ignored, but the
 * batch counts the call as running until it settles (its bytes stay reserved for it).
 */
function attempt(batch: OutgoingBatch, context: DispatchContext): Promise<Attempt> {
  const controller = new AbortController();
  return new Promise<Attempt>((resolve) => {
    let settled = false;
    const finish = (result: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      context.stop.removeEventListener("abort", onStop);
      resolve(result);
    };
    const timer = setTimeout(() => {
      controller.abort(new Error(`onBatch timed out after ${context.timeoutMs} ms`));
      finish({ ok: false, error: controller.signal.reason, timedOut: true, stopped: false });
    }, context.timeoutMs);
    const onStop = () => {
      controller.abort(new Error("the bus stopped waiting for this batch"));
      finish({ ok: false, error: controller.signal.reason, timedOut: false, stopped: true });
    };
    if (context.stop.aborted) return onStop();
    context.stop.addEventListener("abort", onStop, { once: true });
    batch.enter();
    try {
      // Promise.resolve: a plain-JS adapter whose onBatch returns nothing still counts as done.
      Promise.resolve(context.adapter.onBatch(batch, controller.signal)).then(
        (result) => {
          batch.leave();
          finish({ ok: true, result });
        },
        (error: unknown) => {
          batch.leave();
          finish({ ok: false, error, timedOut: false, stopped: false });
        },
      );
    } catch (error) {
      batch.leave();
      finish({ ok: false, error, timedOut: false, stopped: false });
    }
  });
}

function logRejections(batch: Batch, rejected: readonly EventRejection[], context: DispatchContext): void {
  const first = rejected[0]!;
  context.logger.warn(
    {
      adapter: context.adapter.name,
      shard: batch.shard,
      firstSequence: batch.firstSequence,
      events: batch.size,
      rejected: rejected.length,
      index: first.index,
      reason: first.reason,
      detail: first.message,
    },
    "events refused by the adapter were dropped; the rest of the batch was stored",
  );
}

/**
 * Hands a batch to the adapter: up to `retries + 1` bounded attempts, retrying only retryable errors and
 * timeouts, with exponential back-off and per-shard jitter between attempts. Always the same batch
 * object, so message ids stay stable. Resolves with the outcome; never rejects.
 */
export async function dispatchWithRetry(
  batch: OutgoingBatch,
  context: DispatchContext,
  queueDelayMs = 0,
): Promise<DispatchOutcome> {
  const fields = (extra: Record<string, unknown>) => ({
    adapter: context.adapter.name,
    shard: batch.shard,
    firstSequence: batch.firstSequence,
    events: batch.size,
    ...extra,
  });
  // Whether some attempt may have stored the batch: decides between "lost" and "uncertain" on a drop.
  let mayBeStored = false;
  const drop = (reason: DropReason, message: string, extra: Record<string, unknown> = {}): BatchDrop => {
    context.logger.error(fields({ reason, uncertain: mayBeStored, ...extra }), message);
    return { drop: reason, uncertain: mayBeStored };
  };
  for (let attemptNo = 0; ; attemptNo++) {
    const startedAt = performance.now();
    const result = await attempt(batch, context);
    if (!result.ok && (result.timedOut || result.stopped || !failedWithoutStoring(result.error)))
      mayBeStored = true;
    if (result.ok) {
      const outcome = readResult(result.result, batch.size);
      if (outcome !== undefined) {
        if (outcome !== "dispatched") logRejections(batch, outcome.rejected, context);
        if (channels.batchDispatched.hasSubscribers) {
          const refused = outcome === "dispatched" ? 0 : outcome.rejected.length;
          channels.batchDispatched.publish(
            new DispatchedMessage(
              context.producer,
              context.adapter.name,
              batch,
              refused,
              attemptNo + 1,
              performance.now() - startedAt,
              queueDelayMs,
            ),
          );
        }
        return outcome;
      }
      mayBeStored = true; // it resolved: something was stored, but what is unknown
      return drop(
        "adapterRejected",
        "batch dropped: the adapter resolved onBatch with an invalid result (contract rule 2)",
      );
    }
    if (result.stopped) return drop("shutdownDeadline", "batch dropped: shutdown deadline passed");
    const kind = result.timedOut ? "transient" : adapterErrorKind(result.error);
    const retryable = kind === "transient" || kind === "backpressure" || kind === "connection";
    if (!retryable) {
      const reason: DropReason = kind === "shutdown" ? "adapterShutdown" : "adapterRejected";
      return drop(reason, "batch dropped", { kind, err: result.error });
    }
    if (attemptNo >= context.retries) {
      const reason: DropReason = result.timedOut ? "timedOut" : "retriesExhausted";
      return drop(reason, "batch dropped", { attempts: attemptNo + 1, err: result.error });
    }
    const delay = retryDelayMs(batch.shard, attemptNo, context.retryBaseDelayMs, context.retryMaxDelayMs);
    if (channels.batchRetried.hasSubscribers) {
      channels.batchRetried.publish({
        producer: context.producer,
        adapter: context.adapter.name,
        shard: batch.shard,
        events: batch.size,
        attempt: attemptNo + 1,
        reason: result.timedOut ? "timeout" : kind,
        delayMs: delay,
        error: result.error,
      });
    }
    context.logger.warn(
      fields({ attempt: attemptNo + 1, kind, delayMs: Math.round(delay), err: result.error }),
      "batch failed, retrying",
    );
    if (!(await sleep(delay, context.stop)))
      return drop("shutdownDeadline", "batch dropped: shutdown deadline passed");
  }
}
