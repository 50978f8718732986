import { type CaseDefinition, needsReadable } from "../case.js";
import { expectAdapterRejection } from "../expect-errors.js";
import { expectEmptyShard, readShard } from "../read-shard.js";

/** Limits that are not positive integers. */
const INVALID_LIMITS = [0, -1, 1.5, Number.NaN];

/** A cursor no backend hands out: not ASCII, with spaces. */
const FOREIGN_CURSOR = "☃ not a cursor ☃";

/** Cursors malformed for every id format (decimal, Redis `ms-seq`, ULID, UUID, …). */
const MALFORMED_CURSORS = [
  "",
  " ",
  "-1",
  "1.5",
  " 1",
  "1 ",
  "0x1F",
  "\u0000",
  "1-2-3",
  "x".repeat(4096),
  "１２",
];

/** Shards outside contract rule 9. */
const INVALID_SHARDS = [-1, 65_535, 1.5, Number.NaN];

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
  {
    id: "errors.malformed-cursors",
    title:
      "pollShard with malformed cursors (empty, signed, fractional, padded, huge, non-ASCII) rejects non-retryably",
    skip: needsReadable,
    async run(context) {
      const adapter = await context.ready();
      await context.write(adapter, context.producer().batch(0, ['{"cursor":"target"}']));
      for (const cursor of MALFORMED_CURSORS) {
        await expectAdapterRejection(
          () => adapter.pollShard(0, cursor, 10),
          { retryable: false },
          `pollShard(0, ${JSON.stringify(cursor.length > 20 ? `${cursor.slice(0, 20)}…` : cursor)}, 10)`,
        );
      }
    },
  },
  {
    id: "errors.shard-range",
    title: "pollShard with a shard outside [0, 65534] rejects with a non-retryable AdapterError",
    async run(context) {
      const adapter = await context.ready();
      for (const shard of INVALID_SHARDS) {
        await expectAdapterRejection(
          () => adapter.pollShard(shard, undefined, 10),
          { retryable: false },
          `pollShard(${shard}, undefined, 10)`,
        );
      }
    },
  },
  {
    id: "cursor.past-end",
    title: "pollShard after the last id reads an empty page; events written later are read from it",
    skip: needsReadable,
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      await context.write(adapter, producer.batch(2, ['{"end":1}', '{"end":2}']));
      const { cursor } = await readShard(adapter, 2, { expectedAtMost: 2 });
      await expectEmptyShard(adapter, 2, cursor, "after the last id");
      const later = producer.batch(2, ['{"end":3}']);
      await context.write(adapter, later);
      const { events } = await readShard(adapter, 2, {
        ...(cursor === undefined ? {} : { afterId: cursor }),
        expectedAtMost: 1,
      });
      if (events.length !== 1 || events[0]!.json !== later.events[0]) {
        throw new Error(
          `shard 2: after the last id ${JSON.stringify(cursor)}, expected the one event written later, read ${events.length}`,
        );
      }
    },
  },
];
