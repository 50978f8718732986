import type { CaseDefinition } from "../case.js";
import { expectedOf } from "../case-context.js";
import { expectStoredEvents } from "../expect-events.js";
import { sizedEvent, utf8Length } from "../payloads.js";
import { readShard } from "../read-shard.js";
import { show } from "../show.js";

/** Capabilities (contract rule 12): declared on the adapter, valid, stable, and true. */
export const capabilityCases: readonly CaseDefinition[] = [
  {
    id: "capabilities.declared",
    title: "capabilities are valid after init, the same for every instance, and unchanged by use",
    async run(context) {
      // ready() checks validity and sameness; the suite checks stability after every case.
      const first = await context.ready();
      await context.write(first, context.producer().batch(0, ['{"capabilities":1}']));
      const second = await context.ready();
      await first.shutdown();
      await context.expectStableCapabilities();
      await second.shutdown();
    },
  },
  {
    id: "capabilities.size-boundary",
    title: "an event of exactly maxEventBytes is stored; one byte more is refused alone as tooLarge",
    skip: (features) =>
      features.sizeBoundary === undefined
        ? "no finite maxEventBytes of at most 8 MiB to write at the boundary"
        : features.readable
          ? undefined
          : "the adapter is not readable",
    async run(context) {
      const limit = context.features.sizeBoundary!;
      const adapter = await context.ready();
      const producer = context.producer();
      const fitting = producer.batch(6, ['{"before":1}', sizedEvent(limit, 1), '{"after":1}']);
      if (utf8Length(fitting.events[1]!) !== limit) throw new Error("test payload has the wrong size");
      await context.write(adapter, fitting);
      const oversize = producer.batch(6, ['{"before":2}', sizedEvent(limit + 1, 2), '{"after":2}']);
      const rejected = await context.writeAllowingRejections(adapter, oversize);
      const only = rejected.length === 1 ? rejected[0]! : undefined;
      if (only?.index !== 1 || only.reason !== "tooLarge") {
        throw new Error(
          `shard 6, message ${oversize.messageId(1)}: an event of ${limit + 1} bytes (maxEventBytes + 1) ` +
            `must be refused alone with reason "tooLarge"; onBatch reported rejected ${show(rejected)}`,
        );
      }
      const expected = [...expectedOf([fitting]), ...oversize.expected().filter((_, i) => i !== 1)];
      const { events } = await readShard(adapter, 6, { limit: 2, expectedAtMost: expected.length });
      expectStoredEvents(events, expected, context.features, "around the size boundary, shard 6");
    },
  },
  {
    id: "rejection.lone-surrogate",
    title:
      "an event with a lone surrogate is stored exactly or refused alone as invalidText, never the batch",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const texts = ['{"n":1}', '{"bad":"\uD800"}', '{"n":2}', '{"bad":"\uDC00x"}', '{"n":3}'];
      const batch = producer.batch(8, texts);
      const rejected = await context.writeAllowingRejections(adapter, batch);
      for (const { index, reason } of rejected) {
        if ((index !== 1 && index !== 3) || reason !== "invalidText") {
          throw new Error(
            `shard 8, message ${batch.messageId(index)}: only the two events with lone surrogates may be ` +
              `refused, as "invalidText"; refused index ${index} with ${show(reason)}`,
          );
        }
      }
      const kept = new Set(rejected.map((r) => r.index));
      const expected = batch.expected().filter((_, i) => !kept.has(i));
      const after = producer.batch(8, ['{"n":4}']);
      await context.write(adapter, after);
      await context.expectShard(adapter, 8, [...expected, ...after.expected()], "around lone surrogates");
    },
  },
];
