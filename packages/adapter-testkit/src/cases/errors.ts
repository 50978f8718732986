import { type CaseDefinition, needsReadable } from "../case.js";
import { expectAdapterRejection } from "../expect-errors.js";

/** Limits that are not positive integers. */
const INVALID_LIMITS = [0, -1, 1.5, Number.NaN];

/** A cursor no backend hands out: not ASCII, with spaces. */
const FOREIGN_CURSOR = "☃ not a cursor ☃";

/**
 * Classified failures (contract rule 4). A caller's mistake is not retryable: retrying the same
 * request cannot succeed, so the error must be an `AdapterError` whose `isRetryable` is false
 * (`FatalError` is the natural choice).
 */
export const errorCases: readonly CaseDefinition[] = [
  {
    id: "errors.invalid-limit",
    title: "pollShard with a limit that is not a positive integer rejects with a non-retryable AdapterError",
    async run(context) {
      const adapter = await context.ready();
      for (const limit of INVALID_LIMITS) {
        await expectAdapterRejection(
          () => adapter.pollShard(0, undefined, limit),
          { retryable: false },
          `pollShard(0, undefined, ${limit})`,
        );
      }
    },
  },
  {
    id: "errors.invalid-cursor",
    title: "pollShard with a cursor the backend never handed out rejects with a non-retryable AdapterError",
    skip: needsReadable,
    async run(context) {
      const adapter = await context.ready();
      await context.write(adapter, context.producer().batch(0, ['{"cursor":"target"}']));
      await expectAdapterRejection(
        () => adapter.pollShard(0, FOREIGN_CURSOR, 10),
        { retryable: false },
        `pollShard(0, ${JSON.stringify(FOREIGN_CURSOR)}, 10)`,
      );
    },
  },
];
