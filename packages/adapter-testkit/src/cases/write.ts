import type { CaseDefinition } from "../case.js";
import { expectedOf } from "../case-context.js";
import { expectEmptyShard } from "../read-shard.js";
import type { TestBatch } from "../test-batch.js";

/** `count` small, distinct events tagged with `tag`. */
function events(tag: string, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `{"tag":"${tag}","i":${from + i},"v":"value ${from + i}"}`);
}

/** Largest shard id a bus can have (it allows at most 65,535 shards). */
const LARGEST_SHARD = 65_534;

/** Writing: round trip, ownership, empty batches, order, concurrency, flush, shard ids (rules 1, 2, 8). */
export const writeCases: readonly CaseDefinition[] = [
  {
    id: "write.round-trip",
    title: "onBatch then pollShard returns every event with its exact JSON, timestamp, shard and message id",
    async run(context) {
      const adapter = await context.ready();
      const batch = context.producer().batch(0, events("round-trip", 20));
      await context.write(adapter, batch);
      await context.expectShard(adapter, 0, batch.expected(), "one batch");
    },
  },
  {
    id: "write.copies-batch",
    title:
      "the adapter copies what it keeps: mutating the batch after onBatch changes nothing stored (rule 8)",
    async run(context) {
      const adapter = await context.ready();
      const batch = context.producer().batch(0, events("owned", 5));
      const expected = batch.expected();
      await context.write(adapter, batch);
      // The bus owns the batch and its arrays once onBatch has resolved; simulate it reusing them.
      batch.events.fill('{"overwritten":true}');
      batch.timestamps.fill(1);
      await context.expectShard(adapter, 0, expected, "after the batch's arrays were overwritten");
    },
  },
  {
    id: "write.empty-batch",
    title: "an empty batch resolves and stores nothing; batches around it are stored normally",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      await context.write(adapter, producer.batch(3, []));
      await expectEmptyShard(adapter, 3, undefined, "after only an empty batch");
      const full = producer.batch(3, events("after-empty", 3));
      await context.write(adapter, full);
      await context.write(adapter, producer.batch(3, []));
      await context.expectShard(adapter, 3, full.expected(), "empty, full, empty batches");
    },
  },
  {
    id: "write.fifo",
    title: "per-shard FIFO: many batches of varying size, interleaved over shards, read back in write order",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const shards = [0, 1, 2];
      const written = new Map<number, TestBatch[]>(shards.map((shard) => [shard, []]));
      for (let round = 0; round < 40; round++) {
        for (const shard of shards) {
          // Sizes cycle through 1..37 in a different phase per shard: small and odd-sized batches.
          const size = ((round * 7 + shard * 11) % 37) + 1;
          const batch = producer.batch(shard, events(`fifo-${shard}-${round}`, size));
          await context.write(adapter, batch);
          written.get(shard)!.push(batch);
        }
      }
      for (const shard of shards) {
        await context.expectShard(adapter, shard, expectedOf(written.get(shard)!), "40 interleaved batches");
      }
    },
  },
  {
    id: "write.concurrent-shards",
    title: "concurrent onBatch calls on different shards are all stored, each shard in order",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const shards = [0, 1, 2, 3, 4, 5, 6, 7];
      // One batch in flight per shard at a time, all shards at once: exactly how the bus calls.
      const written = await Promise.all(
        shards.map(async (shard) => {
          const batches: TestBatch[] = [];
          for (let round = 0; round < 12; round++) {
            const batch = producer.batch(shard, events(`concurrent-${shard}-${round}`, 25));
            await context.write(adapter, batch);
            batches.push(batch);
          }
          return batches;
        }),
      );
      for (const [i, shard] of shards.entries()) {
        await context.expectShard(adapter, shard, expectedOf(written[i]!), "concurrent writers");
      }
    },
  },
  {
    id: "write.flush",
    title: "flush() resolves, idle or after writes, repeatedly; what was written is then readable",
    async run(context) {
      const adapter = await context.ready();
      await adapter.flush();
      const producer = context.producer();
      const batches = [producer.batch(1, events("flush-a", 10)), producer.batch(1, events("flush-b", 10))];
      for (const batch of batches) await context.write(adapter, batch);
      await adapter.flush();
      await adapter.flush();
      await context.expectShard(adapter, 1, expectedOf(batches), "after flush()");
    },
  },
  {
    id: "write.shard-ids",
    title: `sparse and large shard ids (up to ${LARGEST_SHARD}) are stored separately; untouched shards read empty`,
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const shards = [0, 1, 9, 255, 256, 4096, LARGEST_SHARD];
      const written = new Map<number, TestBatch>();
      for (const shard of shards) {
        const batch = producer.batch(shard, events(`shard-${shard}`, 3));
        await context.write(adapter, batch);
        written.set(shard, batch);
      }
      for (const shard of shards) {
        await context.expectShard(adapter, shard, written.get(shard)!.expected(), "sparse shards");
      }
      for (const untouched of [2, 257, 4095, LARGEST_SHARD - 1]) {
        await expectEmptyShard(adapter, untouched, undefined, `shard ${untouched} was never written`);
      }
    },
  },
];
