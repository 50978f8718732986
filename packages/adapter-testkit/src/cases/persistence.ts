import { expect } from "vitest";
import type { CaseDefinition } from "../case.js";
import { expectedOf } from "../case-context.js";
import { readShard } from "../read-shard.js";

/** Persistence: the data outlives the adapter instance, as a backend outlives a connection. */
export const persistenceCases: readonly CaseDefinition[] = [
  {
    id: "persistence.second-instance",
    title: "a second adapter instance on the same namespace reads what the first wrote, with the same ids",
    skip: (features) => (features.persistent ? undefined : "needs capabilities.persistent"),
    async run(context) {
      const producer = context.producer();
      const first = await context.ready();
      const shards = [0, 3];
      const batches = shards.map((shard) => [
        producer.batch(shard, [`{"persist":${shard},"i":0}`, `{"persist":${shard},"i":1}`]),
        producer.batch(shard, [`{"persist":${shard},"i":2}`]),
      ]);
      for (const pair of batches) for (const batch of pair) await context.write(first, batch);
      await first.flush();
      const idsBefore = [];
      for (const shard of shards) {
        const { events } = await readShard(first, shard, { expectedAtMost: 3 });
        idsBefore.push(events.map((event) => event.id));
      }
      await first.shutdown();

      const second = await context.ready();
      for (const [i, shard] of shards.entries()) {
        await context.expectShard(second, shard, expectedOf(batches[i]!), "read through a second instance");
        const { events } = await readShard(second, shard, { expectedAtMost: 3 });
        expect(
          events.map((event) => event.id),
          `shard ${shard}: ids seen by the second instance`,
        ).toEqual(idsBefore[i]);
      }
      // The second instance appends after what the first stored.
      const more = producer.batch(0, ['{"persist":0,"i":3}']);
      await context.write(second, more);
      await context.expectShard(
        second,
        0,
        expectedOf([...batches[0]!, more]),
        "appended by the second instance",
      );
    },
  },
];
