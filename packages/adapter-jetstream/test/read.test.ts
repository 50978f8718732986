import { jetstreamManager } from "@nats-io/jetstream";
import { type MsgHdrs, headers } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { TestProducer } from "@netmesh/adapter-testkit";
import { type Batch, isAdapterError } from "@netmesh/core/adapter";
import { afterAll, describe, expect, it } from "vitest";
import { type JetStreamAdapter, shardSubject } from "../src/index.js";
import { expectExactly, readAll, readyAdapter } from "./support/adapter.js";
import {
  type LogLine,
  NATS_URL,
  deleteStreams,
  liveSignal,
  uniquePrefix,
  withConnection,
} from "./support/nats.js";

const prefix = uniquePrefix("read");
afterAll(() => deleteStreams(prefix));

function hdrs(values: Record<string, string>): MsgHdrs {
  const h = headers();
  for (const [key, value] of Object.entries(values)) h.set(key, value);
  return h;
}

/** Publishes raw messages (as some other writer would) to a shard's subject, acked one by one. */
async function publishRaw(
  shard: number,
  messages: { data: string | Uint8Array; headers?: MsgHdrs }[],
): Promise<void> {
  await withConnection(NATS_URL, async (nc) => {
    for (const message of messages) {
      await nc.request(shardSubject(prefix, shard), message.data, {
        timeout: 5_000,
        ...(message.headers === undefined ? {} : { headers: message.headers }),
      });
    }
  });
}

const goodId = (shard: number, n: number) => `00000000000000ff:${shard}:${n}`;

describe("records the adapter did not write", () => {
  it("corrupt records are skipped with a warning while the cursor moves past them", async () => {
    const log: LogLine[] = [];
    const adapter = await readyAdapter(prefix, {}, log);
    try {
      const producer = new TestProducer();
      const before = producer.batch(0, ['{"a":1}', '{"a":2}']);
      await adapter.onBatch(before, liveSignal());
      await publishRaw(0, [
        { data: '{"no":"headers"}' },
        { data: '{"no":"timestamp"}', headers: hdrs({ "Nats-Msg-Id": goodId(0, 900) }) },
        { data: "not json", headers: hdrs({ "Nats-Msg-Id": goodId(0, 901), "Netmesh-Ts": "5" }) },
        {
          data: new Uint8Array([0x22, 0xff, 0x22]),
          headers: hdrs({ "Nats-Msg-Id": goodId(0, 902), "Netmesh-Ts": "5" }),
        },
        { data: "{}", headers: hdrs({ "Nats-Msg-Id": "not-a-message-id", "Netmesh-Ts": "5" }) },
      ]);
      const after = producer.batch(0, ['{"b":1}']);
      await adapter.onBatch(after, liveSignal());
      // One page: the good events only; the five corrupt records were examined and passed.
      const page = await adapter.pollShard(0, undefined, 100);
      expect(expectExactly(page.events, [before, after])).toBeUndefined();
      expect(page).toMatchObject({ nextId: "8", hasMore: false });
      expect(log.filter((line) => line.message === "skipping a corrupt record")).toHaveLength(5);
      // Small pages: a page may hold only skipped records; the cursor still advances through them.
      const paged = await readAll(adapter, 0, 2);
      expect(expectExactly(paged, [before, after])).toBeUndefined();
      const onlyCorrupt = await adapter.pollShard(0, "2", 2);
      expect(onlyCorrupt).toEqual({ events: [], nextId: "4", hasMore: true });
    } finally {
      await adapter.shutdown();
    }
  });

  it("a trailing corrupt record moves nextId past the last event; then the shard reads empty", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const batch = new TestProducer().batch(1, ['{"only":1}']);
      await adapter.onBatch(batch, liveSignal());
      await publishRaw(1, [{ data: "garbage" }]);
      const page = await adapter.pollShard(1, undefined, 10);
      expect(page.events.map((event) => event.json)).toEqual(['{"only":1}']);
      expect(page).toMatchObject({ nextId: "2", hasMore: false });
      expect(await adapter.pollShard(1, "2", 10)).toEqual({ events: [], nextId: undefined, hasMore: false });
    } finally {
      await adapter.shutdown();
    }
  });

  it("a record naming another shard, or one beyond 65535, stops the page before it and then rejects as fatal", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      const first = producer.batch(2, ['{"good":1}', '{"good":2}']);
      await adapter.onBatch(first, liveSignal());
      await publishRaw(2, [
        { data: '{"x":1}', headers: hdrs({ "Nats-Msg-Id": goodId(9, 1), "Netmesh-Ts": "5" }) },
        { data: '{"x":2}', headers: hdrs({ "Nats-Msg-Id": goodId(70000, 1), "Netmesh-Ts": "5" }) },
      ]);
      const page = await adapter.pollShard(2, undefined, 10);
      expect(expectExactly(page.events, [first])).toBeUndefined();
      expect(page).toMatchObject({ nextId: "2", hasMore: true });
      for (const [cursor, sequence, reason] of [
        ["2", "3", /names shard 9, not 2/],
        ["3", "4", /names shard 70000, beyond 65535/],
      ] as const) {
        const error = await adapter.pollShard(2, cursor, 10).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isAdapterError(error) && error.kind).toBe("fatal");
        expect((error as Error).message).toContain(`sequence ${sequence}`);
        expect((error as Error).message).toMatch(reason);
      }
    } finally {
      await adapter.shutdown();
    }
  });
});

describe("paging", () => {
  it("skips deleted messages (gaps) without losing or repeating any, across read-ahead windows", async () => {
    const adapter = await readyAdapter(prefix, { maxReadAhead: 3 });
    try {
      const batch = new TestProducer().batch(
        3,
        Array.from({ length: 50 }, (_, i) => `{"n":${i}}`),
      );
      await adapter.onBatch(batch, liveSignal());
      const deleted = [1, 5, 6, 7, 20, 21, 22, 23, 24, 25, 26, 50];
      await withConnection(NATS_URL, async (nc) => {
        const jsm = await jetstreamManager(nc);
        for (const seq of deleted) await jsm.streams.deleteMessage(adapter.streamName(3), seq, false);
      });
      const expected = batch.events.filter((_, i) => !deleted.includes(i + 1));
      const expectedIds = batch.events
        .map((_, i) => String(i + 1))
        .filter((id) => !deleted.includes(Number(id)));
      for (const limit of [1, 4, 7, 100]) {
        const events = await readAll(adapter, 3, limit);
        expect(
          events.map((event) => event.json),
          `limit ${limit}`,
        ).toEqual(expected);
        expect(
          events.map((event) => event.id),
          `limit ${limit}`,
        ).toEqual(expectedIds);
      }
      const afterGap = await adapter.pollShard(3, "19", 2);
      expect(afterGap.events.map((event) => event.id)).toEqual(["27", "28"]);
    } finally {
      await adapter.shutdown();
    }
  });

  it("a reader following nextId while batches are written sees every event once, in order", async () => {
    const reader = await readyAdapter(prefix, { maxReadAhead: 16 });
    const writer = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      const batches = Array.from({ length: 40 }, (_, b) =>
        producer.batch(
          4,
          Array.from({ length: 50 }, (_, i) => `{"b":${b},"i":${i}}`),
        ),
      );
      await writer.onBatch(batches[0]!, liveSignal());
      const writing = (async () => {
        for (const batch of batches.slice(1)) await writer.onBatch(batch, liveSignal());
      })();
      const seen: string[] = [];
      let cursor: string | undefined;
      let done = false;
      void writing.then(() => {
        done = true;
      });
      for (let polls = 0; polls < 100_000; polls++) {
        const finished = done;
        const page = await reader.pollShard(4, cursor, 64);
        seen.push(...page.events.map((event) => event.json));
        cursor = page.nextId ?? cursor;
        if (finished && !page.hasMore && page.events.length === 0) break;
      }
      await writing;
      expect(seen).toEqual(batches.flatMap((batch) => batch.events));
    } finally {
      await Promise.all([reader.shutdown(), writer.shutdown()]);
    }
  });
});

describe("stream lookups", () => {
  it("concurrent first reads of a shard look its stream up once", async () => {
    const writer = await readyAdapter(prefix);
    const reader = await readyAdapter(prefix);
    const watcher = await connect({ servers: NATS_URL });
    try {
      await writer.onBatch(new TestProducer().batch(15, ['{"a":1}']), liveSignal());
      let lookups = 0;
      // Core NATS hands the test a copy of every request to the stream's info API.
      watcher.subscribe(`$JS.API.STREAM.INFO.${writer.streamName(15)}`, {
        callback: () => {
          lookups++;
        },
      });
      await watcher.flush();
      const pages = await Promise.all(Array.from({ length: 10 }, () => reader.pollShard(15, undefined, 10)));
      for (const page of pages) expect(page.events).toHaveLength(1);
      await watcher.flush();
      expect(lookups).toBe(1);
    } finally {
      await watcher.close();
      await reader.shutdown();
      await writer.shutdown();
    }
  });
});

describe("a stream deleted after it was read", () => {
  for (const limit of [10, 100]) {
    it(`reads as the empty page (limit ${limit}), without waiting out requestTimeoutMs`, async () => {
      const shard = limit === 10 ? 12 : 13;
      const writer = await readyAdapter(prefix);
      const reader = await readyAdapter(prefix, { requestTimeoutMs: 5_000 });
      try {
        await writer.onBatch(new TestProducer().batch(shard, ['{"a":1}', '{"a":2}']), liveSignal());
        expect((await reader.pollShard(shard, undefined, limit)).events).toHaveLength(2);
        await withConnection(NATS_URL, async (nc) => {
          await (await jetstreamManager(nc)).streams.delete(writer.streamName(shard));
        });
        const started = Date.now();
        const page = await reader.pollShard(shard, undefined, limit);
        expect(page).toEqual({ events: [], nextId: undefined, hasMore: false });
        expect(Date.now() - started).toBeLessThan(2_500);
      } finally {
        await reader.shutdown();
        await writer.shutdown();
      }
    });
  }
});

describe("read sessions (pages of 64 and more)", () => {
  /** The consumers the server has on a stream. */
  async function consumersOf(stream: string): Promise<number> {
    return withConnection(NATS_URL, async (nc) => {
      const jsm = await jetstreamManager(nc);
      let count = 0;
      for await (const _ of jsm.consumers.list(stream)) count++;
      return count;
    });
  }

  it("a reader paging through a shard uses one consumer, resumes inside a page, reads the tail; shutdown deletes it", async () => {
    const writer = await readyAdapter(prefix);
    const reader = await readyAdapter(prefix);
    const stream = writer.streamName(9);
    try {
      const producer = new TestProducer();
      const first = producer.batch(
        9,
        Array.from({ length: 4_500 }, (_, i) => `{"i":${i}}`),
      );
      await writer.onBatch(first, liveSignal());
      const page = await reader.pollShard(9, undefined, 1_000);
      expect(page.events).toHaveLength(1_000);
      expect(page).toMatchObject({ nextId: "1000", hasMore: true });
      expect(await consumersOf(stream)).toBe(1);
      // The rest, page by page through the same consumer, then the tail.
      const rest = await readAll(reader, 9, 1_000);
      expect(rest.map((event) => event.json)).toEqual(first.events);
      expect(await consumersOf(stream)).toBe(1);
      // A reader that used only part of the page it got comes back inside it.
      const inside = await reader.pollShard(9, "4250", 1_000);
      expect(inside.events.map((event) => event.id)).toEqual(
        Array.from({ length: 250 }, (_, i) => String(4_251 + i)),
      );
      expect(inside).toMatchObject({ nextId: "4500", hasMore: false });
      // At the tail: empty until something is written, then exactly that.
      expect(await reader.pollShard(9, "4500", 1_000)).toEqual({
        events: [],
        nextId: undefined,
        hasMore: false,
      });
      const later = producer.batch(9, ['{"later":1}', '{"later":2}']);
      await writer.onBatch(later, liveSignal());
      const tail = await reader.pollShard(9, "4500", 1_000);
      expect(expectExactly(tail.events, [later])).toBeUndefined();
      expect(tail).toMatchObject({ nextId: "4502", hasMore: false });
      expect(await consumersOf(stream)).toBe(1);
    } finally {
      await reader.shutdown();
      await writer.shutdown();
    }
    // Deleted at shutdown (not left for the server's inactivity threshold).
    const deadline = Date.now() + 5_000;
    while ((await consumersOf(stream)) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await consumersOf(stream)).toBe(0);
  });

  /** Runs `work` with a reader of `shard` after a writer stored `count` events `{"i":n}` there in one batch. */
  async function withWrittenShard(
    shard: number,
    count: number,
    work: (reader: JetStreamAdapter, batch: Batch, stream: string) => Promise<void>,
  ): Promise<void> {
    const writer = await readyAdapter(prefix);
    const reader = await readyAdapter(prefix);
    try {
      const batch = new TestProducer().batch(
        shard,
        Array.from({ length: count }, (_, i) => `{"i":${i}}`),
      );
      await writer.onBatch(batch, liveSignal());
      await work(reader, batch, writer.streamName(shard));
    } finally {
      await reader.shutdown();
      await writer.shutdown();
    }
  }

  it("40 readers at once on one shard open at most 32 consumers, and each gets its exact page", async () => {
    await withWrittenShard(11, 6_100, async (reader, batch, stream) => {
      const pages = await Promise.all(
        Array.from({ length: 40 }, (_, k) => reader.pollShard(11, String(k * 150), 100)),
      );
      for (const [k, page] of pages.entries()) {
        expect(page.events.map((event) => event.json)).toEqual(batch.events.slice(k * 150, k * 150 + 100));
        expect(page).toMatchObject({ nextId: String(k * 150 + 100), hasMore: true });
      }
      expect(await consumersOf(stream)).toBeLessThanOrEqual(32);
    });
  });

  it("concurrent reads of the same position each open a session of their own and get the same page", async () => {
    await withWrittenShard(14, 500, async (reader, batch, stream) => {
      const pages = await Promise.all([1, 2, 3].map(() => reader.pollShard(14, "100", 100)));
      for (const page of pages) {
        expect(page.events.map((event) => event.json)).toEqual(batch.events.slice(100, 200));
        expect(page).toMatchObject({ nextId: "200", hasMore: true });
      }
      expect(await consumersOf(stream)).toBe(3);
    });
  });

  it("a consumer deleted under a session: the page is read on with direct gets, then a new session takes over", async () => {
    await withWrittenShard(10, 3_000, async (reader, batch, stream) => {
      const first = await reader.pollShard(10, undefined, 1_000);
      await withConnection(NATS_URL, async (nc) => {
        const jsm = await jetstreamManager(nc);
        for await (const info of jsm.consumers.list(stream)) await jsm.consumers.delete(stream, info.name);
      });
      const rest = await readAll(reader, 10, 1_000);
      expect(
        [...first.events, ...rest.filter((event) => Number(event.id) > 1_000)].map((e) => e.json),
      ).toEqual(batch.events);
    });
  });
});

describe("read-after-write at the tail", () => {
  it("an event whose write was acknowledged is in the next page read through a session (8 shards × 250 writes)", async () => {
    // The server tells a consumer of new messages asynchronously: a pull right after the ack can still
    // find nothing. The page must not end there. (Rare: concurrency makes it likelier.)
    const writer = await readyAdapter(prefix);
    const reader = await readyAdapter(prefix);
    try {
      const missed = await Promise.all(
        Array.from({ length: 8 }, async (_, k) => {
          const shard = 20 + k;
          const producer = new TestProducer();
          let cursor: string | undefined;
          const misses: number[] = [];
          for (let i = 0; i < 250; i++) {
            await writer.onBatch(producer.batch(shard, [`{"n":${i}}`]), liveSignal());
            const page = await reader.pollShard(shard, cursor, 100);
            if (page.events.length !== 1) misses.push(i);
            cursor = page.nextId ?? cursor;
          }
          return misses;
        }),
      );
      expect(missed.flat()).toEqual([]);
    } finally {
      await reader.shutdown();
      await writer.shutdown();
    }
  });
});
