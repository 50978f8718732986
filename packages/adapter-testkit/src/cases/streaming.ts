import type { Adapter, ShardPage } from "@netmesh/core/adapter";
import type { CaseDefinition } from "../case.js";
import { expectedOf } from "../case-context.js";
import { expectStoredEvents } from "../expect-events.js";
import { followShard } from "../follow.js";
import { show } from "../show.js";

/** How long an open `readShard` may take to end after its signal aborts or its adapter shuts down. */
export const STREAM_END_MS = 2_000;

const needsStreaming = (features: { streaming: boolean }) =>
  features.streaming ? undefined : "the adapter has no streaming read (capabilities.streamingReads false)";

/**
 * Opens `readShard` on a caught-up shard, lets it wait, runs `stop`, and requires the iteration to
 * end without an error within {@link STREAM_END_MS}.
 */
async function expectEndsAfter(
  adapter: Adapter,
  shard: number,
  afterId: string | undefined,
  signal: AbortSignal,
  stop: () => unknown,
  what: string,
): Promise<void> {
  const iterator = (adapter.readShard!(shard, afterId, { signal, limit: 10 }) as AsyncIterable<ShardPage>)[
    Symbol.asyncIterator
  ]();
  const next = iterator.next();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await stop();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    next.then(
      (result) => ({ kind: "settled" as const, result }),
      (error: unknown) => ({ kind: "failed" as const, error }),
    ),
    new Promise<{ kind: "hung" }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "hung" }), STREAM_END_MS);
    }),
  ]);
  clearTimeout(timer);
  if (outcome.kind === "hung")
    throw new Error(`readShard(${shard}) did not end within ${STREAM_END_MS} ms ${what}`);
  if (outcome.kind === "failed")
    throw new Error(
      `readShard(${shard}) threw ${show(String(outcome.error))} ${what}; it must end without an error`,
    );
  if (outcome.result.done !== true) {
    throw new Error(
      `readShard(${shard}) yielded a page from a caught-up shard ${what}: ${show(outcome.result.value)}`,
    );
  }
}

/** The streaming read (`readShard`), when the adapter declares one. */
export const streamingCases: readonly CaseDefinition[] = [
  {
    id: "streaming.follow",
    title: "readShard yields stored events, then waits and yields events written later, in order, once",
    skip: needsStreaming,
    async run(context) {
      const writer = await context.ready();
      const reader = context.features.persistent ? await context.ready() : writer;
      const producer = context.producer();
      const before = producer.batch(4, ['{"s":1}', '{"s":2}', '{"s":3}']);
      await context.write(writer, before);
      const later = [producer.batch(4, ['{"s":4}', '{"s":5}']), producer.batch(4, ['{"s":6}'])];
      const total = 6;
      const followed = followShard(reader, 4, undefined, {
        limit: 2,
        timeoutMs: 5_000,
        until: (events) => events.length >= total,
      });
      for (const batch of later) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        await context.write(writer, batch);
      }
      const { events } = await followed;
      expectStoredEvents(
        events,
        expectedOf([before, ...later]),
        context.features,
        "followed with readShard, shard 4",
      );
    },
  },
  {
    id: "streaming.after-cursor",
    title: "readShard from a cursor yields exactly the events after it",
    skip: needsStreaming,
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      const batch = producer.batch(2, ['{"c":1}', '{"c":2}', '{"c":3}', '{"c":4}']);
      await context.write(adapter, batch);
      const first = await adapter.pollShard(2, undefined, 2);
      const [firstTwo, cursor] = [first.events, first.nextId];
      if (firstTwo.length !== 2)
        throw new Error(`shard 2: expected a first page of 2 events, got ${firstTwo.length}`);
      const { events } = await followShard(adapter, 2, cursor, { limit: 10, until: (e) => e.length >= 2 });
      expectStoredEvents(
        events,
        batch.expected().slice(2),
        context.features,
        `readShard after ${show(cursor)}`,
      );
    },
  },
  {
    id: "streaming.abort",
    title: `an open readShard waiting for events ends without an error within ${STREAM_END_MS} ms of its signal aborting`,
    skip: needsStreaming,
    async run(context) {
      const adapter = await context.ready();
      await context.write(adapter, context.producer().batch(1, ['{"a":1}']));
      const page = await adapter.pollShard(1, undefined, 10);
      const controller = new AbortController();
      await expectEndsAfter(
        adapter,
        1,
        page.nextId,
        controller.signal,
        () => controller.abort(),
        "after its signal aborted",
      );
      await expectEndsAfter(
        adapter,
        9,
        undefined,
        AbortSignal.abort(),
        () => {},
        "with a signal aborted from the start",
      );
    },
  },
  {
    id: "streaming.shutdown",
    title: `an open readShard ends without an error within ${STREAM_END_MS} ms of its adapter shutting down`,
    skip: needsStreaming,
    async run(context) {
      const adapter = await context.ready();
      const live = new AbortController();
      try {
        await expectEndsAfter(
          adapter,
          3,
          undefined,
          live.signal,
          () => adapter.shutdown(),
          "after shutdown()",
        );
      } finally {
        live.abort();
      }
    },
  },
];
