import { expect } from "vitest";
import type { CaseDefinition } from "../case.js";
import { expectedOf } from "../case-context.js";
import { expectStoredEvents } from "../expect-events.js";
import { AWKWARD_EVENTS, NESTING_DEPTH, nestedEvents, sizedEvent, utf8Length } from "../payloads.js";
import { readShard } from "../read-shard.js";

/** Events of awkward content, read back byte for byte (`StoredEvent.json` is "byte for byte as ingested"). */
export const contentCases: readonly CaseDefinition[] = [
  {
    id: "content.unicode",
    title: "unicode, raw separators, escapes, whitespace and number spellings read back exactly (===)",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const forward = producer.batch(0, AWKWARD_EVENTS);
      // The same texts again, reversed, so no event's position hides a boundary problem.
      const backward = producer.batch(0, [...AWKWARD_EVENTS].reverse());
      await context.write(adapter, forward);
      await context.write(adapter, backward);
      await context.expectShard(adapter, 0, expectedOf([forward, backward]), "awkward events");
    },
  },
  {
    id: "content.max-size",
    title: "events of exactly maxEventBytes UTF-8 bytes, alone and four in one batch, read back exactly",
    async run(context) {
      const bytes = context.features.maxEventBytes;
      const adapter = await context.ready();
      const producer = context.producer();
      const single = producer.batch(0, [sizedEvent(bytes, 0)]);
      expect(utf8Length(single.events[0]!), "test payload size").toBe(bytes);
      await context.write(adapter, single);
      // Four maximal events in one batch: an adapter must split requests its backend would refuse.
      const several = producer.batch(
        0,
        [1, 2, 3, 4].map((seed) => sizedEvent(bytes, seed)),
      );
      await context.write(adapter, several);
      if (!context.features.readable) {
        await context.expectShard(adapter, 0, [], "maximal events");
        return;
      }
      // Small pages: reading a few mebibytes must not need one huge response.
      const { events } = await readShard(adapter, 0, { limit: 1, expectedAtMost: 5 });
      expectStoredEvents(events, expectedOf([single, several]), context.features, "maximal events");
    },
  },
  {
    id: "content.nested",
    title: `deeply nested JSON (${NESTING_DEPTH} levels of arrays, objects and both) reads back exactly`,
    async run(context) {
      const adapter = await context.ready();
      const batch = context.producer().batch(2, nestedEvents());
      await context.write(adapter, batch);
      await context.expectShard(adapter, 2, batch.expected(), "nested events");
    },
  },
];
