import type { Adapter, StoredEvent } from "@netmesh/core/adapter";
import type { CaseDefinition } from "../case.js";
import { type CaseContext, expectedOf } from "../case-context.js";
import { followShard } from "../follow.js";
import type { TestBatch } from "../test-batch.js";

const SHARD = 7;
const BATCHES_PER_WRITER = 30;
const EVENTS_PER_BATCH = 20;

/** Polls `shard` from the start until `done()` and nothing more is readable; returns what it saw. */
async function pollFollower(adapter: Adapter, shard: number, done: () => boolean): Promise<StoredEvent[]> {
  const seen: StoredEvent[] = [];
  let cursor: string | undefined;
  for (;;) {
    const finished = done(); // read before the poll: a poll after the last write must still happen
    const page = await adapter.pollShard(shard, cursor, 50);
    seen.push(...page.events);
    if (page.nextId !== undefined) cursor = page.nextId;
    if (page.hasMore) continue;
    if (finished) return seen;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Fails unless `seen` holds every expected message exactly once. */
function expectEachOnce(seen: readonly StoredEvent[], batches: readonly TestBatch[], reader: string): void {
  const expected = expectedOf(batches);
  const counts = new Map<string, number>();
  for (const event of seen) {
    const key = `${event.timestamp}:${event.json}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const missing = expected.filter((event) => !counts.has(`${event.timestamp}:${event.json}`));
  if (missing.length > 0) {
    throw new Error(
      `${reader} following shard ${SHARD} while two instances wrote it missed ${missing.length} of ` +
        `${expected.length} events (e.g. message ${missing[0]!.messageId}): an id became readable after a ` +
        "larger one, so the cursor had already passed it (rule 11: visible in id order)",
    );
  }
  const repeated = [...counts].find(([, count]) => count > 1);
  if (repeated !== undefined) {
    throw new Error(
      `${reader} following shard ${SHARD} read an event ${repeated[1]} times: ${repeated[0].slice(0, 120)}`,
    );
  }
  if (seen.length !== expected.length) {
    throw new Error(
      `${reader} following shard ${SHARD} read ${seen.length} events, ${expected.length} were written`,
    );
  }
}

async function writeAll(
  context: CaseContext,
  adapter: Adapter,
  batches: readonly TestBatch[],
): Promise<void> {
  for (const batch of batches) {
    await context.write(adapter, batch);
    // Yield between batches, so the two writers and the readers interleave as separate processes would.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Visibility in id order (contract rule 11), the property a cursor-following reader depends on. */
export const visibilityCases: readonly CaseDefinition[] = [
  {
    id: "visibility.concurrent-writers",
    title:
      "two instances write one shard while a third follows it (pollShard and readShard): every event once",
    skip: (features) => (features.readable ? undefined : "the adapter is not readable"),
    async run(context) {
      // Separate instances, as separate processes would be; an adapter whose instances share nothing
      // (not persistent) plays the three roles with one instance.
      const one = await context.ready();
      const [first, second, reader] = context.features.persistent
        ? [one, await context.ready(), await context.ready()]
        : [one, one, one];
      const batchesOf = (producer: ReturnType<CaseContext["producer"]>, writer: number) =>
        Array.from({ length: BATCHES_PER_WRITER }, (_, b) =>
          producer.batch(
            SHARD,
            Array.from({ length: EVENTS_PER_BATCH }, (_, i) => `{"writer":${writer},"batch":${b},"i":${i}}`),
          ),
        );
      const batches = [batchesOf(context.producer(), 1), batchesOf(context.producer(), 2)];
      const total = BATCHES_PER_WRITER * EVENTS_PER_BATCH * 2;
      let writing = true;
      const stream = context.features.streaming
        ? followShard(reader, SHARD, undefined, { limit: 50, until: (events) => events.length >= total })
        : undefined;
      const polled = pollFollower(reader, SHARD, () => !writing);
      try {
        await Promise.all([writeAll(context, first, batches[0]!), writeAll(context, second, batches[1]!)]);
      } finally {
        writing = false;
      }
      const all = [...batches[0]!, ...batches[1]!];
      const [byPolling, byStreaming] = await Promise.allSettled([polled, stream]);
      if (byPolling.status === "rejected") throw byPolling.reason;
      expectEachOnce(byPolling.value, all, "pollShard");
      if (byStreaming.status === "rejected") throw byStreaming.reason;
      if (byStreaming.value !== undefined) expectEachOnce(byStreaming.value.events, all, "readShard");
    },
  },
];
