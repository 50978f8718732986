import { type Adapter, isAdapterError } from "@netmesh/core/adapter";
import type { CaseDefinition } from "../case.js";
import { type CaseContext, expectedOf, rejectionsOf } from "../case-context.js";
import { expectStoredEvents } from "../expect-events.js";
import { readShard } from "../read-shard.js";
import { show } from "../show.js";
import type { TestBatch } from "../test-batch.js";
import { expectAtLeastOnce } from "./dedup.js";

/** Bound of one attempt in the fault cases, ms (the bus's `adapterTimeoutMs` plays this role). */
const ATTEMPT_MS = 3_000;
/** How long the fault cases keep retrying one batch, ms. */
const RETRY_FOR_MS = 20_000;

/**
 * Writes a batch as the bus does: bounded attempts, retrying retryable failures and timeouts with a
 * short pause, the very same batch object each time. Fails on a non-retryable error or after
 * {@link RETRY_FOR_MS}. Resolves the number of attempts.
 */
async function writeLikeTheBus(adapter: Adapter, batch: TestBatch): Promise<number> {
  const deadline = performance.now() + RETRY_FOR_MS;
  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("attempt timed out")), ATTEMPT_MS);
    try {
      const result: unknown = await adapter.onBatch(batch, controller.signal);
      if (rejectionsOf(result, batch).length > 0)
        throw new Error(`shard ${batch.shard}: a valid event was refused`);
      return attempt;
    } catch (error) {
      if (isAdapterError(error) && !error.isRetryable) {
        throw new Error(
          `shard ${batch.shard}, attempt ${attempt}: non-retryable ${error.kind} error during a fault: ${error.message}`,
        );
      }
      if (performance.now() > deadline) {
        throw new Error(
          `shard ${batch.shard}: still failing after ${RETRY_FOR_MS} ms of retries: ${show(String(error))}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Reads a shard to its end, retrying while the adapter reconnects. */
async function readAfterFault(adapter: Adapter, shard: number, expectedAtMost: number) {
  const deadline = performance.now() + RETRY_FOR_MS;
  for (;;) {
    try {
      return await readShard(adapter, shard, { expectedAtMost });
    } catch (error) {
      if (!(isAdapterError(error) && error.isRetryable) || performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function expectAfterFault(
  context: CaseContext,
  adapter: Adapter,
  shard: number,
  batches: readonly TestBatch[],
  what: string,
): Promise<void> {
  const expected = expectedOf(batches);
  if (!context.features.dedup) return expectAtLeastOnce(context, adapter, shard, expected, what);
  const { events } = await readAfterFault(adapter, shard, expected.length);
  expectStoredEvents(events, expected, context.features, what);
}

/** Faults injected through the author's hooks ({@link FaultHooks}): no loss, and no duplicate with dedup. */
export const faultCases: readonly CaseDefinition[] = [
  {
    id: "faults.lost-reply",
    title:
      "a batch whose reply is lost after the backend applied it is retried: nothing lost, nothing doubled",
    skip: (features) =>
      !features.lostReply
        ? "no faults.loseNextReply hook supplied"
        : features.readable
          ? undefined
          : "the adapter is not readable",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const batches = [0, 1, 2].map((b) =>
        producer.batch(
          1,
          Array.from({ length: 50 }, (_, i) => `{"lost":${b},"i":${i}}`),
        ),
      );
      await writeLikeTheBus(adapter, batches[0]!);
      await context.faults.loseNextReply!();
      await writeLikeTheBus(adapter, batches[1]!);
      await writeLikeTheBus(adapter, batches[2]!);
      await expectAfterFault(context, adapter, 1, batches, "after a lost reply, shard 1");
    },
  },
  {
    id: "faults.restart",
    title:
      "the backend restarts while batches are written: after reconnecting, nothing lost, nothing doubled",
    skip: (features) =>
      !features.restart
        ? "no faults.restartBackend hook supplied"
        : features.readable && features.persistent
          ? undefined
          : "needs a readable, persistent adapter",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const batches = Array.from({ length: 30 }, (_, b) =>
        producer.batch(
          2,
          Array.from({ length: 50 }, (_, i) => `{"restart":${b},"i":${i}}`),
        ),
      );
      let restart: Promise<void> | undefined;
      for (const [b, batch] of batches.entries()) {
        if (b === 10) restart = context.faults.restartBackend!();
        // Paced after the restart began, so writes keep coming while the backend is down and back.
        if (restart !== undefined) await new Promise((resolve) => setTimeout(resolve, 25));
        await writeLikeTheBus(adapter, batch);
      }
      await restart;
      await expectAfterFault(context, adapter, 2, batches, "after a backend restart, shard 2");
    },
  },
];
