import { jetstreamManager } from "@nats-io/jetstream";
import { type MsgHdrs, headers } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { TestProducer } from "@netmesh/adapter-testkit";
import { type ShardPage, type StoredEvent, isAdapterError, silentLogger } from "@netmesh/core/adapter";
import { type PrivateServer, startNats } from "@netmesh/test-backends";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter, shardSubject } from "../src/index.js";
import { readyAdapter } from "./support/adapter.js";
import { startOwnServer } from "./support/own-server.js";
import { NATS_URL, deleteStreams, liveSignal, uniquePrefix, withConnection } from "./support/nats.js";

const prefix = uniquePrefix("follow");
afterAll(() => deleteStreams(prefix));

/** Follows `shard` until `until` holds for the pages seen (or `ms` pass); returns the pages (also in `pages`). */
async function follow(
  adapter: JetStreamAdapter,
  shard: number,
  afterId: string | undefined,
  until: (pages: readonly ShardPage[]) => boolean,
  ms = 10_000,
  pages: ShardPage[] = [],
): Promise<ShardPage[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    for await (const page of adapter.readShard(shard, afterId, { signal: controller.signal, limit: 100 })) {
      pages.push(page);
      if (until(pages)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return pages;
}

const events = (pages: readonly ShardPage[]): StoredEvent[] => pages.flatMap((page) => page.events);

function hdrs(values: Record<string, string>): MsgHdrs {
  const h = headers();
  for (const [key, value] of Object.entries(values)) h.set(key, value);
  return h;
}

describe("readShard (an ephemeral pull consumer)", () => {
  it("skips corrupt records while moving nextId, and ends with a FatalError at a misrouted one", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      await adapter.onBatch(producer.batch(0, ['{"a":1}']), liveSignal());
      await withConnection(NATS_URL, async (nc) => {
        await nc.request(shardSubject(prefix, 0), "not json", { timeout: 5_000 });
        await nc.request(shardSubject(prefix, 0), '{"x":1}', {
          timeout: 5_000,
          headers: hdrs({ "Nats-Msg-Id": "00000000000000ff:9:1", "Netmesh-Ts": "5" }),
        });
      });
      const pages: ShardPage[] = [];
      let failure: unknown;
      try {
        await follow(adapter, 0, undefined, () => false, 5_000, pages);
      } catch (error) {
        failure = error;
      }
      expect(isAdapterError(failure) && failure.kind).toBe("fatal");
      expect((failure as Error).message).toMatch(/sequence 3: .*names shard 9, not 0/);
      expect(events(pages).map((event) => event.json)).toEqual(['{"a":1}']);
      expect(pages.at(-1)?.nextId).toBe("2"); // past the corrupt record, before the misrouted one
      // Resuming at the misrouted record fails at once, as pollShard does.
      await expect(follow(adapter, 0, "2", () => true, 5_000)).rejects.toThrow(/names shard 9/);
    } finally {
      await adapter.shutdown();
    }
  });

  it("open across its stream's deletion, goes on in the new stream after the last sequence it yielded (as the README says)", async () => {
    const writer = await readyAdapter(prefix);
    const reader = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      await writer.onBatch(producer.batch(2, Array.from({ length: 5 }, (_, i) => `{"old":${i}}`)), liveSignal());
      const pages: ShardPage[] = [];
      const following = follow(reader, 2, undefined, (seen) => events(seen).length >= 8, 10_000, pages);
      for (let i = 0; i < 100 && events(pages).length < 5; i++) await new Promise((r) => setTimeout(r, 50));
      await withConnection(NATS_URL, async (nc) => {
        await (await jetstreamManager(nc)).streams.delete(writer.streamName(2));
      });
      // The writer finds its stream gone once (that batch is refused), then creates it again.
      await writer.onBatch(producer.batch(2, ['{"refused":1}']), liveSignal()).catch(() => undefined);
      await writer.onBatch(producer.batch(2, Array.from({ length: 8 }, (_, i) => `{"new":${i}}`)), liveSignal());
      await following;
      // Sequences 1–5 of the new stream lie at or before the follower's position: never returned.
      expect(events(pages).map((event) => [event.id, event.json])).toEqual([
        ...Array.from({ length: 5 }, (_, i) => [String(i + 1), `{"old":${i}}`]),
        ...Array.from({ length: 3 }, (_, i) => [String(i + 6), `{"new":${i + 5}}`]),
      ]);
    } finally {
      await reader.shutdown();
      await writer.shutdown();
    }
  });

  it("on a caller's connection that gets closed, ends with a FatalError (an AdapterError), before or while following", async () => {
    const connection = await connect({ servers: NATS_URL });
    const adapter = new JetStreamAdapter({ connection, prefix });
    await adapter.init({ logger: silentLogger });
    try {
      await adapter.onBatch(new TestProducer().batch(3, ['{"a":1}']), liveSignal());
      const ending = (async () => {
        for await (const _ of adapter.readShard(3, undefined, { signal: AbortSignal.timeout(10_000), limit: 10 })) {
          await connection.close();
        }
      })().then(() => undefined, (error: unknown) => error);
      const whileFollowing = await ending;
      expect(isAdapterError(whileFollowing) && whileFollowing.kind, String(whileFollowing)).toBe("fatal");
      const before = await (async () => {
        for await (const _ of adapter.readShard(3, undefined, { signal: AbortSignal.timeout(10_000), limit: 10 })) {
          // nothing can come on a closed connection
        }
      })().then(() => undefined, (error: unknown) => error);
      expect(isAdapterError(before) && before.kind, String(before)).toBe("fatal");
    } finally {
      await adapter.shutdown();
    }
  });

  it("starts exactly after a cursor above 2^53 and removes its consumer when it ends", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      await adapter.onBatch(producer.batch(1, ['{"warm":1}']), liveSignal());
      await withConnection(NATS_URL, async (nc) => {
        // Written by hand: the client's JSON.stringify would round a sequence above 2^53.
        await nc.request(`$JS.API.STREAM.PURGE.${adapter.streamName(1)}`, '{"seq":9007199254740993}', {
          timeout: 5_000,
        });
      });
      await adapter.onBatch(producer.batch(1, ['{"n":0}', '{"n":1}', '{"n":2}']), liveSignal());
      const pages = await follow(adapter, 1, "9007199254740993", (seen) => events(seen).length >= 2);
      expect(events(pages).map((event) => [event.id, event.json])).toEqual([
        ["9007199254740994", '{"n":1}'],
        ["9007199254740995", '{"n":2}'],
      ]);
      await new Promise((resolve) => setTimeout(resolve, 200)); // the consumer is deleted without waiting
      await withConnection(NATS_URL, async (nc) => {
        const info = await (await jetstreamManager(nc)).streams.info(adapter.streamName(1));
        expect(info.state.consumer_count).toBe(0);
      });
    } finally {
      await adapter.shutdown();
    }
  });

  it("on an account that may not pull, ends with a FatalError at once (the server's -ERR), not silently never", async () => {
    const server = await startOwnServer(`authorization {
  users = [
    { user: "writer", password: "w-pass" }
    { user: "nopull", password: "np-pass", permissions: { publish: { deny: ["$JS.API.CONSUMER.MSG.NEXT.>"] } } }
  ]
}`);
    const writer = await readyAdapter("nopull", { url: server.url("writer", "w-pass") });
    const reader = await readyAdapter("nopull", { url: server.url("nopull", "np-pass") });
    try {
      await writer.onBatch(new TestProducer().batch(0, ['{"a":1}']), liveSignal());
      const started = Date.now();
      const ended = await (async () => {
        for await (const _ of reader.readShard(0, undefined, { signal: AbortSignal.timeout(10_000), limit: 10 })) {
          // no pull may be sent, so nothing comes
        }
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isAdapterError(ended) && ended.kind, String(ended)).toBe("fatal");
      expect(String(ended)).toMatch(/Permissions Violation/);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await reader.shutdown();
      await writer.shutdown();
      await server.stop();
    }
  });

  it("ends within milliseconds of its abort, and of shutdown, while its consumer's creation is unanswered (a SIGSTOPped server)", async () => {
    const server = await startOwnServer();
    const adapter = await readyAdapter("paused", { url: server.url(), requestTimeoutMs: 5_000 });
    /** Starts a follow and waits until its consumer request is under way; `ended` tells how it ended. */
    const startFollow = async (signal: AbortSignal) => {
      const ended = (async () => {
        for await (const _ of adapter.readShard(0, undefined, { signal, limit: 10 })) {
          // nothing comes from a stopped server
        }
      })().then(
        () => "ended",
        (error: unknown) => `failed: ${String(error)}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { ended };
    };
    try {
      await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), liveSignal());
      await server.pause();
      const controller = new AbortController();
      const aborted = await startFollow(controller.signal);
      let started = Date.now();
      controller.abort();
      expect(await aborted.ended).toBe("ended");
      expect(Date.now() - started).toBeLessThan(500);
      const shutDown = await startFollow(new AbortController().signal);
      started = Date.now();
      const shutdown = adapter.shutdown();
      expect(await shutDown.ended).toBe("ended");
      expect(Date.now() - started).toBeLessThan(500);
      server.resume();
      await shutdown;
    } finally {
      server.resume();
      await adapter.shutdown();
      await server.stop();
    }
  }, 30_000);

  describe("across a server restart", () => {
    let server: PrivateServer;
    beforeAll(async () => {
      server = await startNats();
    });
    afterAll(() => server?.stop());

    it("yields every event once, in order: before, and after the server came back", async () => {
      const writer = await readyAdapter("restarted", { url: server.url });
      const reader = await readyAdapter("restarted", { url: server.url });
      try {
        const producer = new TestProducer();
        const before = producer.batch(2, ['{"b":1}', '{"b":2}']);
        const after = producer.batch(2, ['{"a":1}', '{"a":2}']);
        await writer.onBatch(before, liveSignal());
        const following = follow(reader, 2, undefined, (seen) => events(seen).length >= 4, 30_000);
        await new Promise((resolve) => setTimeout(resolve, 300));
        await server.restart(); // SIGKILL, then the same port and store
        await writer.onBatch(after, liveSignal()); // waits for its reconnect
        const seen = events(await following);
        expect(seen.map((event) => event.json)).toEqual([...before.events, ...after.events]);
        expect(seen.map((event) => event.id)).toEqual(["1", "2", "3", "4"]);
      } finally {
        await Promise.all([writer.shutdown(), reader.shutdown()]);
      }
    }, 60_000);
  });
});
