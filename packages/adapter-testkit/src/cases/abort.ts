import { isAdapterError } from "@netmesh/core/adapter";
import type { CaseDefinition } from "../case.js";
import { expectedOf } from "../case-context.js";
import { expectAdapterRejection } from "../expect-errors.js";
import { show } from "../show.js";
import { expectAtLeastOnce } from "./dedup.js";

/** How long after its signal aborts an `onBatch` may take to settle (rule 5: "settle promptly"). */
export const ABORT_SETTLE_MS = 1_000;

function settleWithin<T>(promise: Promise<T>, ms: number): Promise<{ settled: boolean; error?: unknown }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ settled: false }), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve({ settled: true });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ settled: true, error });
      },
    );
  });
}

/** Bounded calls (contract rule 5): the `AbortSignal` given to `onBatch` is honoured. */
export const abortCases: readonly CaseDefinition[] = [
  {
    id: "abort.already-aborted",
    title: "onBatch with an already-aborted signal rejects at once with a retryable error and stores nothing",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const first = producer.batch(3, ['{"aborted":0}']);
      await context.write(adapter, first);
      const batch = producer.batch(3, ['{"aborted":1}', '{"aborted":2}']);
      const controller = new AbortController();
      controller.abort(new Error("the bus gave up on this attempt"));
      const started = performance.now();
      await expectAdapterRejection(
        () => adapter.onBatch(batch, controller.signal),
        { retryable: true },
        "onBatch with an aborted signal",
      );
      const took = performance.now() - started;
      if (took > ABORT_SETTLE_MS)
        throw new Error(`onBatch with an aborted signal took ${Math.round(took)} ms to reject`);
      await context.expectShard(adapter, 3, first.expected(), "after an attempt with an aborted signal");
      await context.write(adapter, batch);
      await context.expectShard(adapter, 3, expectedOf([first, batch]), "after the retry with a live signal");
    },
  },
  {
    id: "abort.mid-call",
    title: `onBatch settles within ${ABORT_SETTLE_MS} ms of its signal aborting mid-call; the retry loses nothing`,
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const texts = Array.from({ length: 2_000 }, (_, i) =>
        JSON.stringify({ abort: i, pad: "x".repeat(200) }),
      );
      const batch = producer.batch(5, texts);
      const controller = new AbortController();
      const call = Promise.resolve().then(() => adapter.onBatch(batch, controller.signal));
      await new Promise((resolve) => setTimeout(resolve, 1));
      controller.abort(new Error("attempt timed out"));
      const { settled, error } = await settleWithin(call, ABORT_SETTLE_MS);
      if (!settled) {
        throw new Error(
          `onBatch did not settle within ${ABORT_SETTLE_MS} ms of its signal aborting (rule 5)`,
        );
      }
      if (error !== undefined && !(isAdapterError(error) && error.isRetryable)) {
        throw new Error(
          `an aborted onBatch must reject with a retryable AdapterError, got ${show(String(error))}`,
        );
      }
      // Whatever the abandoned attempt stored, the retry completes the batch (once, with dedup).
      await context.write(adapter, batch);
      const after = producer.batch(5, ['{"after":"abort"}']);
      await context.write(adapter, after);
      const expected = expectedOf([batch, after]);
      if (context.features.dedup)
        await context.expectShard(adapter, 5, expected, "after an aborted attempt and a retry");
      else await expectAtLeastOnce(context, adapter, 5, expected, "after an aborted attempt and a retry");
    },
  },
];
