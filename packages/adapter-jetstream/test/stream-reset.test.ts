import { jetstreamManager } from "@nats-io/jetstream";
import { TestProducer } from "@netmesh/adapter-testkit";
import type { ShardPage } from "@netmesh/core/adapter";
import { afterAll, describe, expect, it } from "vitest";
import { type JetStreamAdapter, StreamResetError } from "../src/index.js";
import { readAll, readyAdapter } from "./support/adapter.js";
import {
  type LogLine,
  NATS_URL,
  deleteStreams,
  liveSignal,
  uniquePrefix,
  withConnection,
} from "./support/nats.js";

const prefix = uniquePrefix("reset");
afterAll(() => deleteStreams(prefix));

function deleteStream(stream: string): Promise<boolean> {
  return withConnection(NATS_URL, async (nc) => (await jetstreamManager(nc)).streams.delete(stream));
}

/** Deletes the shard's stream, then writes `events` through a new adapter, which creates it again. */
async function recreate(stream: string, shard: number, events: string[]): Promise<void> {
  await deleteStream(stream);
  const writer = await readyAdapter(prefix);
  try {
    await writer.onBatch(new TestProducer().batch(shard, events), liveSignal());
  } finally {
    await writer.shutdown();
  }
}

/** Writes five events to `shard` and reads them all with `limit`: the cursor is "5". */
async function fiveEvents(adapter: JetStreamAdapter, shard: number, limit: number): Promise<string> {
  await adapter.onBatch(
    new TestProducer().batch(
      shard,
      ["1", "2", "3", "4", "5"].map((n) => `{"n":${n}}`),
    ),
    liveSignal(),
  );
  const events = await readAll(adapter, shard, limit);
  expect(events.map((event) => event.id)).toEqual(["1", "2", "3", "4", "5"]);
  return events.at(-1)!.id;
}

/** The error `work` rejects with, which must be a StreamResetError naming the reset. */
async function expectReset(work: Promise<unknown>, shard: number, cursor: string, last: string | RegExp) {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StreamResetError);
  const reset = error as StreamResetError;
  expect(reset).toMatchObject({ kind: "fatal", code: "ADAPTER_FATAL", reason: "streamReset" });
  expect(reset).toMatchObject({ shard, cursor, isRetryable: false });
  expect(reset.lastSequence).toMatch(typeof last === "string" ? new RegExp(`^${last}$`) : last);
  expect(reset.message).toMatch(
    new RegExp(`ends at sequence ${reset.lastSequence}, before the cursor ${cursor}`),
  );
}

/** The warning lines logged for a reset of `shard`. */
function resetWarnings(log: readonly LogLine[], shard: number) {
  return log.filter(
    (line) =>
      line.level === "warn" && line.fields.shard === shard && /deleted and created again/.test(line.message),
  );
}

describe("a cursor beyond the last sequence of a stream deleted and created again", () => {
  it.each([
    [10, "direct gets"],
    [100, "a read session"],
  ])(
    "pollShard (limit %i, %s) of a new adapter fails with a StreamResetError and a warning",
    async (limit) => {
      const shard = limit === 10 ? 0 : 1;
      const first = await readyAdapter(prefix);
      const cursor = await fiveEvents(first, shard, limit).finally(() => first.shutdown());
      await recreate(first.streamName(shard), shard, ['{"new":1}', '{"new":2}']);
      const log: LogLine[] = [];
      const reader = await readyAdapter(prefix, {}, log);
      try {
        await expectReset(reader.pollShard(shard, cursor, limit), shard, cursor, "2");
        expect(resetWarnings(log, shard)).toHaveLength(1);
        expect(resetWarnings(log, shard)[0]!.fields).toMatchObject({ cursor, lastSequence: "2" });
        // The new stream's events are all there from the start; a cursor inside it reads on.
        expect((await reader.pollShard(shard, undefined, limit)).events.map((e) => e.json)).toEqual([
          '{"new":1}',
          '{"new":2}',
        ]);
        expect(await reader.pollShard(shard, "2", limit)).toEqual({
          events: [],
          nextId: undefined,
          hasMore: false,
        });
      } finally {
        await reader.shutdown();
      }
    },
  );

  it("pollShard through a read session open across the deletion fails with a StreamResetError", async () => {
    const shard = 2;
    const log: LogLine[] = [];
    const reader = await readyAdapter(prefix, {}, log);
    try {
      const cursor = await fiveEvents(reader, shard, 100);
      await recreate(reader.streamName(shard), shard, ['{"new":1}']);
      await expectReset(reader.pollShard(shard, cursor, 100), shard, cursor, "1");
      expect(resetWarnings(log, shard)).toHaveLength(1);
    } finally {
      await reader.shutdown();
    }
  });

  it("the adapter that created the stream again tells a read with an old cursor of the reset", async () => {
    const shard = 3;
    const adapter = await readyAdapter(prefix);
    try {
      const cursor = await fiveEvents(adapter, shard, 10);
      await deleteStream(adapter.streamName(shard));
      const producer = new TestProducer();
      // The first write finds the stream gone (refused), the next one creates it again.
      await expect(adapter.onBatch(producer.batch(shard, ['{"lost":1}']), liveSignal())).rejects.toThrow(
        /not found/,
      );
      await adapter.onBatch(producer.batch(shard, ['{"new":1}']), liveSignal());
      await expectReset(adapter.pollShard(shard, cursor, 10), shard, cursor, "1");
    } finally {
      await adapter.shutdown();
    }
  });

  it("readShard from an old cursor, and one open across the deletion, end with a StreamResetError", async () => {
    const shard = 4;
    const log: LogLine[] = [];
    const reader = await readyAdapter(prefix, {}, log);
    const controller = new AbortController();
    try {
      const cursor = await fiveEvents(reader, shard, 10);
      // Open at the end of the stream while it is deleted and created again.
      const open = reader.readShard(shard, cursor, { signal: controller.signal, limit: 100 });
      const pages: ShardPage[] = [];
      const following = (async () => {
        for await (const page of open) pages.push(page);
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await recreate(reader.streamName(shard), shard, ['{"new":1}', '{"new":2}']);
      // The consumer is made again as soon as the stream is: before or after the new events are stored.
      await expectReset(following, shard, cursor, /^[012]$/);
      expect(pages).toEqual([]);
      // A new iteration from the same cursor fails the same way, at once.
      const again = (async () => {
        for await (const _ of reader.readShard(shard, cursor, { signal: controller.signal, limit: 100 })) {
          throw new Error("a page after a reset cursor");
        }
      })();
      await expectReset(again, shard, cursor, "2");
      expect(resetWarnings(log, shard)).toHaveLength(2);
    } finally {
      controller.abort();
      await reader.shutdown();
    }
  });
});
