import type { CaseDefinition } from "../case.js";
import { show } from "../show.js";

const WRITTEN = [0, 3, 9, 300];

/** Shard discovery (`listShards`), when the adapter declares it. */
export const shardListCases: readonly CaseDefinition[] = [
  {
    id: "shards.list",
    title: "listShards lists exactly the shards written, ascending, also through a second instance",
    skip: (features) =>
      features.listsShards ? undefined : "the adapter cannot list shards (capabilities.listsShards false)",
    async run(context) {
      const writer = await context.ready();
      const producer = context.producer();
      for (const shard of WRITTEN) await context.write(writer, producer.batch(shard, [`{"shard":${shard}}`]));
      const readers = context.features.persistent ? [writer, await context.ready()] : [writer];
      for (const [i, adapter] of readers.entries()) {
        const listed = await adapter.listShards!();
        const what = `listShards() of instance ${i + 1}`;
        if (!Array.isArray(listed)) throw new Error(`${what}: expected an array, got ${show(listed)}`);
        if (listed.length !== WRITTEN.length || listed.some((id, k) => id !== WRITTEN[k])) {
          throw new Error(
            `${what}: expected ${show(WRITTEN)} (the shards written, ascending), got ${show(listed)}`,
          );
        }
      }
    },
  },
];
