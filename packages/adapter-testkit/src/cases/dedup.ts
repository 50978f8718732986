import type { Adapter } from "@netmesh/core/adapter";
import type { CaseDefinition } from "../case.js";
import { type CaseContext, expectedOf } from "../case-context.js";
import { expectSameEvent } from "../expect-events.js";
import { readShard } from "../read-shard.js";
import type { ExpectedEvent } from "../test-batch.js";

/**
 * Without dedup a retry may store events twice, but it must lose none and invent none: each written
 * event appears at least once and everything read back was written.
 */
export async function expectAtLeastOnce(
  context: CaseContext,
  adapter: Adapter,
  shard: number,
  expected: readonly ExpectedEvent[],
  what: string,
): Promise<void> {
  if (!context.features.readable) return context.expectShard(adapter, shard, [], what);
  const { events } = await readShard(adapter, shard, { expectedAtMost: expected.length * 3 });
  const byText = new Map(expected.map((event) => [`${event.timestamp}:${event.json}`, event]));
  const seen = new Set<string>();
  for (const [i, event] of events.entries()) {
    const key = `${event.timestamp}:${event.json}`;
    const match = byText.get(key);
    if (match === undefined)
      throw new Error(`${what}: event ${i} read back was never written: ${event.json}`);
    expectSameEvent(event, match, `${what}, event ${i}`);
    seen.add(key);
  }
  if (seen.size !== byText.size)
    throw new Error(`${what}: ${byText.size - seen.size} written events were lost`);
}

/** Retries (contract rule 3): the bus resends the very same batch object after a failure. */
export const dedupCases: readonly CaseDefinition[] = [
  {
    id: "dedup.retry",
    title: "a retried batch (same producer, sequences, message ids) is stored once when dedup is declared",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const batches = [0, 1, 2].map((b) =>
        producer.batch(
          4,
          Array.from({ length: 4 + b }, (_, i) => `{"retry":${b},"i":${i}}`),
        ),
      );
      await context.write(adapter, batches[0]!);
      await context.write(adapter, batches[1]!);
      // The first attempt was applied but its reply was lost: the bus sends the same object again.
      await context.write(adapter, batches[1]!);
      await context.write(adapter, batches[2]!);
      await context.write(adapter, batches[2]!);
      await context.write(adapter, batches[2]!);
      const expected = expectedOf(batches);
      if (context.features.dedup) await context.expectShard(adapter, 4, expected, "after retries");
      else await expectAtLeastOnce(context, adapter, 4, expected, "after retries (no dedup declared)");
    },
  },
  {
    id: "dedup.per-producer",
    title: "two producers using the same sequence numbers on one shard are both stored, interleaved in order",
    async run(context) {
      const adapter = await context.ready();
      const first = context.producer();
      const second = context.producer();
      // Same shard, same sequence numbers, different nonces: dedup must key on the producer too.
      const batches = [
        first.batch(1, ['{"p":1,"i":0}', '{"p":1,"i":1}']),
        second.batch(1, ['{"p":2,"i":0}', '{"p":2,"i":1}']),
        first.batch(1, ['{"p":1,"i":2}']),
        second.batch(1, ['{"p":2,"i":2}']),
      ];
      for (const batch of batches) await context.write(adapter, batch);
      await context.expectShard(adapter, 1, expectedOf(batches), "two producers");
    },
  },
  {
    id: "dedup.across-instances",
    title: "a batch retried through a new adapter instance on the same backend is still stored once",
    skip: (features) =>
      features.dedup && features.persistent ? undefined : "needs dedup and persistent capabilities",
    async run(context) {
      const producer = context.producer();
      const batches = [
        producer.batch(0, ['{"instance":1}', '{"instance":2}']),
        producer.batch(0, ['{"instance":3}']),
      ];
      const before = await context.ready();
      await context.write(before, batches[0]!);
      await before.flush();
      await before.shutdown();
      // A reconnected client retries what it cannot know was stored: dedup state must live in the backend.
      const after = await context.ready();
      // Without this, a backend that forgot everything would pass the retry below vacuously.
      await context.expectShard(after, 0, batches[0]!.expected(), "first batch, seen by a second instance");
      await context.write(after, batches[0]!);
      await context.write(after, batches[1]!);
      await context.expectShard(after, 0, expectedOf(batches), "retry through a second instance");
    },
  },
];
