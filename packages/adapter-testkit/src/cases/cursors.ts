import type { Adapter, StoredEvent } from "@netmesh/core/adapter";
import { expect } from "vitest";
import { type CaseDefinition, needsReadable } from "../case.js";
import { type CaseContext, expectedOf } from "../case-context.js";
import { expectAdapterRejection } from "../expect-errors.js";
import { expectStoredEvents } from "../expect-events.js";
import { expectEmptyShard, expectValidPage, readShard } from "../read-shard.js";

/** Events in the shard the cursor cases page through. */
const COUNT = 30;

/**
 * Writes {@link COUNT} events to shard 5 in three batches and reads them back in one go. Ids are
 * compared only by identity and paging order, never parsed: backends choose their own id format.
 */
async function seed(context: CaseContext): Promise<{ adapter: Adapter; all: StoredEvent[] }> {
  const adapter = await context.ready();
  const producer = context.producer();
  const batches = [7, 13, 10].map((size, b) =>
    producer.batch(
      5,
      Array.from({ length: size }, (_, i) => `{"cursor":${b},"i":${i}}`),
    ),
  );
  for (const batch of batches) await context.write(adapter, batch);
  const { events } = await readShard(adapter, 5, { limit: 1000, expectedAtMost: COUNT });
  expectStoredEvents(events, expectedOf(batches), context.features, "seeded shard 5");
  return { adapter, all: events };
}

function ids(events: readonly StoredEvent[]): string[] {
  return events.map((event) => event.id);
}

/** Cursors, `limit`, `hasMore` and `nextId` (rule 6 and the `ShardPage` docs). */
export const cursorCases: readonly CaseDefinition[] = [
  {
    id: "cursor.empty-shard",
    title: "a shard never written reads as the empty page { events: [], nextId: undefined, hasMore: false }",
    async run(context) {
      const adapter = await context.ready();
      await expectEmptyShard(adapter, 11, undefined, "fresh shard");
      await context.write(adapter, context.producer().batch(10, ['{"neighbour":true}']));
      await expectEmptyShard(adapter, 11, undefined, "shard next to a written one");
    },
  },
  {
    id: "cursor.exclusive",
    title: "afterId is exclusive: polling after the k-th id returns exactly the events after it",
    skip: needsReadable,
    async run(context) {
      const { adapter, all } = await seed(context);
      for (const k of [0, 1, 6, 7, 19, COUNT - 2]) {
        const where = `after event ${k}`;
        const page = await adapter.pollShard(5, all[k]!.id, 1000);
        expectValidPage(page, 5, 1000, where);
        expect(ids(page.events), `${where}: ids`).toEqual(ids(all.slice(k + 1)));
        expect(page.hasMore, `${where}: hasMore`).toBe(false);
      }
      await expectEmptyShard(adapter, 5, all.at(-1)!.id, "after the last id");
    },
  },
  {
    id: "cursor.limit-one",
    title: "paging with limit 1 visits every event once, hasMore true until the last page",
    skip: needsReadable,
    async run(context) {
      const { adapter, all } = await seed(context);
      let cursor: string | undefined;
      for (let i = 0; i < COUNT; i++) {
        const where = `page ${i + 1} with limit 1`;
        const page = await adapter.pollShard(5, cursor, 1);
        expectValidPage(page, 5, 1, where);
        expect(ids(page.events), `${where}: ids`).toEqual([all[i]!.id]);
        expect(page.hasMore, `${where}: hasMore`).toBe(i < COUNT - 1);
        cursor = page.nextId;
      }
      await expectEmptyShard(adapter, 5, cursor, "after paging to the end");
    },
  },
  {
    id: "cursor.limit-boundary",
    title: "limit exactly the remaining count, one less and one more: no skip, no repeat, exact hasMore",
    skip: needsReadable,
    async run(context) {
      const { adapter, all } = await seed(context);
      const exact = await adapter.pollShard(5, undefined, COUNT);
      expectValidPage(exact, 5, COUNT, "limit = count");
      expect(ids(exact.events), "limit = count: ids").toEqual(ids(all));
      expect(exact.hasMore, "limit = count: hasMore").toBe(false);
      await expectEmptyShard(adapter, 5, exact.nextId, "after a page of exactly the count");

      const short = await adapter.pollShard(5, undefined, COUNT - 1);
      expectValidPage(short, 5, COUNT - 1, "limit = count - 1");
      expect(ids(short.events), "limit = count - 1: ids").toEqual(ids(all.slice(0, -1)));
      expect(short.hasMore, "limit = count - 1: hasMore").toBe(true);
      const rest = await adapter.pollShard(5, short.nextId, COUNT - 1);
      expectValidPage(rest, 5, COUNT - 1, "the page after limit = count - 1");
      expect(ids(rest.events), "the page after limit = count - 1: ids").toEqual([all.at(-1)!.id]);
      expect(rest.hasMore, "the page after limit = count - 1: hasMore").toBe(false);

      const long = await adapter.pollShard(5, undefined, COUNT + 1);
      expectValidPage(long, 5, COUNT + 1, "limit = count + 1");
      expect(ids(long.events), "limit = count + 1: ids").toEqual(ids(all));
      expect(long.hasMore, "limit = count + 1: hasMore").toBe(false);

      // From a mid cursor, a limit of exactly what remains is the same boundary again.
      const mid = await adapter.pollShard(5, all[9]!.id, COUNT - 10);
      expectValidPage(mid, 5, COUNT - 10, "limit = remaining after event 9");
      expect(ids(mid.events), "limit = remaining after event 9: ids").toEqual(ids(all.slice(10)));
      expect(mid.hasMore, "limit = remaining after event 9: hasMore").toBe(false);
    },
  },
  {
    id: "cursor.paging",
    title: "paging to the end with limits 2, 3, 7 and 29 returns every event exactly once, in order",
    skip: needsReadable,
    async run(context) {
      const { adapter, all } = await seed(context);
      for (const limit of [2, 3, 7, COUNT - 1]) {
        const { events, pages } = await readShard(adapter, 5, { limit, expectedAtMost: COUNT });
        expect(ids(events), `limit ${limit}: ids`).toEqual(ids(all));
        expect(pages, `limit ${limit}: number of pages`).toBe(Math.ceil(COUNT / limit));
      }
    },
  },
  {
    id: "cursor.tail",
    title: "a cursor at the end stays valid: events written later are returned after it, and only those",
    skip: needsReadable,
    async run(context) {
      const { adapter, all } = await seed(context);
      const end = all.at(-1)!.id;
      await expectEmptyShard(adapter, 5, end, "at the end before new writes");
      const producer = context.producer();
      const later = producer.batch(5, ['{"later":1}', '{"later":2}', '{"later":3}']);
      await context.write(adapter, producer.batch(6, ['{"other":"shard"}']));
      await context.write(adapter, later);
      const { events } = await readShard(adapter, 5, { afterId: end, limit: 2, expectedAtMost: 3 });
      expectStoredEvents(events, later.expected(), context.features, "events written after the cursor");
      const seen = new Set(ids(all));
      for (const event of events) {
        expect(seen.has(event.id), `new event reuses id ${event.id}`).toBe(false);
      }
    },
  },
  {
    id: "cursor.entry-id-form",
    title:
      "isEntryId, where the adapter has it, holds for every id and nextId it returns, and an id it says no to is refused by pollShard as non-retryable",
    skip: needsReadable,
    async run(context) {
      const { adapter, all } = await seed(context);
      if (adapter.isEntryId === undefined) return; // optional: the bus then finds foreign cursors only by failed reads
      const isEntryId = (id: string) => adapter.isEntryId!(id);
      for (const event of all) expect(isEntryId(event.id), `isEntryId(${event.id}) of a stored event`).toBe(true);
      const page = await adapter.pollShard(5, undefined, 7);
      expect(isEntryId(page.nextId!), `isEntryId(${page.nextId}) of a page's nextId`).toBe(true);
      // Ids of other backends' forms: whichever this adapter says no to, its reads must refuse too,
      // since the bus refuses a cursor by isEntryId before any read.
      for (const foreign of ["#not-an-id#", "1700000000000-0", "17", "01HZX3J5K8Q2W4E6R8T0Y2U4I6", "0017"]) {
        if (isEntryId(foreign)) continue;
        await expectAdapterRejection(
          () => adapter.pollShard(5, foreign, 1),
          { retryable: false },
          `pollShard after ${foreign}, which isEntryId refuses`,
        );
      }
    },
  },
];
