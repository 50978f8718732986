import type { Adapter } from "./contract/adapter.js";
import { adapterErrorKind } from "./contract/adapter-errors.js";
import type { Batch } from "./contract/batch.js";
import type { Logger } from "./contract/logger.js";
import { retryDelayMs } from "./backoff.js";
import type { DropReason } from "./stats.js";

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
}

/** `"dispatched"`, or the reason the whole batch was dropped. */
export type DispatchOutcome = "dispatched" | DropReason;

type Attempt = { ok: true } | { ok: false; error: unknown; timedOut: boolean; stopped: boolean };

const OK: Attempt = { ok: true };

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One bounded `onBatch` call. Never rejects; a late settlement of an abandoned call is ignored. */
function attempt(batch: Batch, context: DispatchContext): Promise<Attempt> {
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
    try {
      // Promise.resolve: a plain-JS adapter whose onBatch returns nothing still counts as done.
      Promise.resolve(context.adapter.onBatch(batch, controller.signal)).then(
        () => finish(OK),
        (error: unknown) => finish({ ok: false, error, timedOut: false, stopped: false }),
      );
    } catch (error) {
      finish({ ok: false, error, timedOut: false, stopped: false });
    }
  });
}

/** Sleeps `ms`, waking early (returning false) if `stop` aborts. */
function pause(ms: number, stop: AbortSignal): Promise<boolean> {
  if (stop.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onStop = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      stop.removeEventListener("abort", onStop);
      resolve(true);
    }, ms);
    stop.addEventListener("abort", onStop, { once: true });
  });
}

/**
 * Hands a batch to the adapter: up to `retries + 1` bounded attempts, retrying only retryable errors and
 * timeouts, with exponential back-off and per-shard jitter between attempts. Always the same batch
 * object, so message ids stay stable. Resolves with the outcome; never rejects.
 */
export async function dispatchWithRetry(batch: Batch, context: DispatchContext): Promise<DispatchOutcome> {
  const fields = (extra: Record<string, unknown>) => ({
    adapter: context.adapter.name,
    shard: batch.shard,
    firstSequence: batch.firstSequence,
    events: batch.events.length,
    ...extra,
  });
  for (let attemptNo = 0; ; attemptNo++) {
    const result = await attempt(batch, context);
    if (result.ok) return "dispatched";
    if (result.stopped) {
      context.logger.error(fields({ reason: "shutdownDeadline" }), "batch dropped: shutdown deadline passed");
      return "shutdownDeadline";
    }
    const kind = result.timedOut ? "transient" : adapterErrorKind(result.error);
    const retryable = kind === "transient" || kind === "backpressure" || kind === "connection";
    if (!retryable) {
      const reason: DropReason = kind === "shutdown" ? "adapterShutdown" : "adapterRejected";
      context.logger.error(fields({ reason, kind, error: errorMessage(result.error) }), "batch dropped");
      return reason;
    }
    if (attemptNo >= context.retries) {
      const reason: DropReason = result.timedOut ? "timedOut" : "retriesExhausted";
      context.logger.error(
        fields({ reason, attempts: attemptNo + 1, error: errorMessage(result.error) }),
        "batch dropped",
      );
      return reason;
    }
    const delay = retryDelayMs(batch.shard, attemptNo, context.retryBaseDelayMs, context.retryMaxDelayMs);
    context.logger.warn(
      fields({ attempt: attemptNo + 1, kind, delayMs: Math.round(delay), error: errorMessage(result.error) }),
      "batch failed, retrying",
    );
    if (!(await pause(delay, context.stop))) {
      context.logger.error(fields({ reason: "shutdownDeadline" }), "batch dropped: shutdown deadline passed");
      return "shutdownDeadline";
    }
  }
}
