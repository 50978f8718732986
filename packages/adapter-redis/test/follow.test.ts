import { TestProducer } from "@netmesh/adapter-testkit";
import { type ShardPage, TransientError, silentLogger } from "@netmesh/core/adapter";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisAdapter, streamKey } from "../src/index.js";
import { Redactor } from "../src/redaction.js";
import { followStream } from "../src/tail.js";
import { sleep } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

const live = new AbortController().signal;
const servers: OwnRedis[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

/** Page reads the server has run so far (`INFO commandstats`): direct `XRANGE`s and read-script calls. */
async function pageReads(redis: Redis): Promise<number> {
  const stats = await redis.info("commandstats");
  const calls = (command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls("xrange") + calls("evalsha");
}

/** The next page of `pages`, which must not have ended. */
async function nextPage(pages: AsyncIterator<ShardPage>): Promise<ShardPage> {
  const step = await pages.next();
  if (step.done === true) throw new Error("the follow ended");
  return step.value;
}

// readShard reads the page after a full one while the consumer holds it: the follow's read-ahead.
describe("readShard's read-ahead", () => {
  it("reads the next page while one is held, and hands over every event once, in order", async () => {
    const server = await startOwnRedis();
    servers.push(server);
    const adapter = new RedisAdapter({ url: server.url(), prefix: "ahead" });
    await adapter.init({ logger: silentLogger });
    const inspect = new Redis(server.url());
    const texts = Array.from({ length: 10 }, (_, i) => `{"i":${i}}`);
    await adapter.onBatch(new TestProducer().batch(0, texts), live);
    const controller = new AbortController();
    const pages = adapter
      .readShard(0, undefined, { signal: controller.signal, limit: 4 })
      [Symbol.asyncIterator]();
    const before = await pageReads(inspect);
    const first = await nextPage(pages);
    // The consumer holds the first page: the second is read meanwhile, and nothing after it.
    const reads = async () => (await pageReads(inspect)) - before;
    for (let tries = 0; tries < 100 && (await reads()) < 2; tries++) await sleep(50);
    await sleep(100);
    expect(await reads()).toBe(2);
    const seen = [...first.events];
    for (const _ of [1, 2]) seen.push(...(await nextPage(pages)).events);
    expect(seen.map((event) => event.json)).toEqual(texts);
    controller.abort();
    expect((await pages.next()).done).toBe(true);
    inspect.disconnect();
    await adapter.shutdown();
  });

  it("a read ahead that fails while its page is held fails the next step, never the process", async () => {
    const server = await startOwnRedis();
    servers.push(server);
    const adapter = new RedisAdapter({ url: server.url(), prefix: "ahead-fail" });
    await adapter.init({ logger: silentLogger });
    await adapter.onBatch(new TestProducer().batch(0, ["1", "2", "3"]), live);
    const redis = new Redis(server.url());
    // The adapter's own page reads, but the second one (the read ahead) fails at once: rejected before
    // anything awaits it, which would surface as an unhandled rejection (a failed test) if unguarded.
    let reads = 0;
    const read = (afterId: string | undefined, limit: number) =>
      ++reads === 2 ? Promise.reject(new TransientError("lost")) : adapter.pollShard(0, afterId, limit);
    const controller = new AbortController();
    const pages = followStream({
      client: redis,
      stream: streamKey("ahead-fail", 0),
      afterId: undefined,
      signal: controller.signal,
      limit: 1,
      read,
      toPage: () => {
        throw new Error("no XREAD expected");
      },
      redactor: new Redactor([]),
    })[Symbol.asyncIterator]();
    expect((await nextPage(pages)).events.map((event) => event.json)).toEqual(["1"]);
    await sleep(50); // the consumer holds the page while the read ahead fails
    await expect(pages.next()).rejects.toBeInstanceOf(TransientError);
    expect(reads).toBe(2);
    controller.abort();
    redis.disconnect();
    await adapter.shutdown();
  });
});

describe("readShard on a caller's client", () => {
  it("with enableOfflineQueue: false: the XREAD duplicate queues its first command until it has connected", async () => {
    const server = await startOwnRedis();
    servers.push(server);
    const mine = new Redis(server.url(), { enableOfflineQueue: false });
    mine.on("error", () => {});
    await new Promise((resolve) => mine.once("ready", resolve));
    const adapter = new RedisAdapter({ client: mine, prefix: "no-offline-queue" });
    await adapter.init({ logger: silentLogger });
    const stop = new AbortController();
    const pages = adapter.readShard(0, undefined, { signal: stop.signal, limit: 10 })[Symbol.asyncIterator]();
    const write = setTimeout(
      () => adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), live).catch(() => {}),
      200,
    );
    try {
      // Without it: ConnectionError "Stream isn't writeable and enableOfflineQueue options is false".
      expect((await nextPage(pages)).events.map((event) => event.json)).toEqual(['{"a":1}']);
    } finally {
      clearTimeout(write);
      stop.abort();
      await adapter.shutdown();
      mine.disconnect();
    }
  });
});
