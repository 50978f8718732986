import { TestProducer } from "@netmesh/adapter-testkit";
import {
  AdapterShutdownError,
  ConnectionError,
  FatalError,
  TransientError,
  silentLogger,
} from "@netmesh/core/adapter";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RedisAdapter, streamKey } from "../src/index.js";
import { readAll, sleep } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

// Health checks, timeouts, aborts and the script cache, against servers these tests may stop and flush.
const live = new AbortController().signal;
const servers: OwnRedis[] = [];
const adapters: RedisAdapter[] = [];
const clients: Redis[] = [];

async function setup(settings: Partial<ConstructorParameters<typeof RedisAdapter>[0]> = {}) {
  const server = await startOwnRedis();
  servers.push(server);
  const adapter = new RedisAdapter({
    url: server.url(),
    prefix: "bounds",
    ...settings,
  } as ConstructorParameters<typeof RedisAdapter>[0]);
  adapters.push(adapter);
  const checker = new Redis(server.url());
  checker.on("error", () => {}); // some tests kill the server under it
  clients.push(checker);
  return { server, adapter, checker };
}

/** Milliseconds until `work` settles, and how. */
async function timed(work: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { ms: Date.now() - started, error };
}

afterEach(async () => {
  for (const server of servers) server.resume();
  await Promise.all(adapters.splice(0).map((adapter) => adapter.shutdown()));
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

describe("isHealthy", () => {
  it("is false before init, true when up, false within the bound when the server hangs or dies, false after shutdown", async () => {
    const { server, adapter } = await setup({ healthCheckTimeoutMs: 300 });
    expect(await adapter.isHealthy()).toBe(false);
    await adapter.init({ logger: silentLogger });
    expect(await adapter.isHealthy()).toBe(true);

    await server.pause(); // the socket stays open, nothing answers: only the bound can say "unhealthy"
    const hung = Date.now();
    expect(await adapter.isHealthy()).toBe(false);
    const waited = Date.now() - hung;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(1_000);
    server.resume();
    await sleep(50);
    expect(await adapter.isHealthy()).toBe(true);

    await server.kill();
    const dead = Date.now();
    expect(await adapter.isHealthy()).toBe(false);
    expect(Date.now() - dead).toBeLessThan(1_000);

    await adapter.shutdown();
    expect(await adapter.isHealthy()).toBe(false);
  });
});

describe("bounded calls", () => {
  it("onBatch and pollShard against a hung server reject as transient within commandTimeoutMs; the retry stores once", async () => {
    const { server, adapter, checker } = await setup({ commandTimeoutMs: 400 });
    await adapter.init({ logger: silentLogger });
    const batch = new TestProducer().batch(0, ['{"late":1}', '{"late":2}']);
    await server.pause();
    const write = await timed(adapter.onBatch(batch, live));
    expect(write.error).toBeInstanceOf(TransientError);
    expect((write.error as Error).message).toMatch(/no reply within 400 ms/);
    expect(write.ms).toBeGreaterThanOrEqual(350);
    expect(write.ms).toBeLessThan(1_500);
    const read = await timed(adapter.pollShard(0, undefined, 10));
    expect(read.error).toBeInstanceOf(TransientError);
    expect(read.ms).toBeLessThan(1_500);
    server.resume();
    // The abandoned call was still queued: it runs now. The bus's retry of the same batch adds nothing.
    await adapter.onBatch(batch, live);
    expect(await checker.xlen(streamKey("bounds", 0))).toBe(2);
  });

  it("an abort during the call rejects at once; an already aborted signal sends nothing", async () => {
    const { server, adapter, checker } = await setup({ commandTimeoutMs: 5_000 });
    await adapter.init({ logger: silentLogger });
    const producer = new TestProducer();
    await server.pause();
    const controller = new AbortController();
    const pending = timed(adapter.onBatch(producer.batch(0, ['{"a":1}']), controller.signal));
    await sleep(100);
    controller.abort(new Error("bus timeout"));
    const aborted = await pending;
    expect(aborted.error).toBeInstanceOf(TransientError);
    expect((aborted.error as Error).message).toMatch(/aborted/);
    expect(aborted.ms).toBeLessThan(1_000);
    server.resume();

    const before = new AbortController();
    before.abort(new Error("gave up"));
    const unsent = producer.batch(1, ['{"never":1}']);
    const refused = await timed(adapter.onBatch(unsent, before.signal));
    expect(refused.error).toBeInstanceOf(TransientError);
    await adapter.onBatch(producer.batch(1, ['{"after":1}']), live); // a later call on the same shard…
    const stored = await readAll(adapter, 1);
    expect(stored.map((event) => event.json)).toEqual(['{"after":1}']); // …finds nothing of the aborted one
    expect(await checker.exists(streamKey("bounds", 1))).toBe(1);
  });
});

describe("lifecycle", () => {
  it("init is idempotent (also concurrently); calls before init are fatal, after shutdown AdapterShutdownError", async () => {
    const { adapter } = await setup();
    const batch = new TestProducer().batch(0, ['{"x":1}']);
    await expect(adapter.onBatch(batch, live)).rejects.toBeInstanceOf(FatalError);
    await expect(adapter.pollShard(0, undefined, 1)).rejects.toBeInstanceOf(FatalError);
    await Promise.all([adapter.init({ logger: silentLogger }), adapter.init({ logger: silentLogger })]);
    await adapter.init({ logger: silentLogger });
    await adapter.onBatch(batch, live);
    await adapter.shutdown();
    await adapter.shutdown();
    await expect(adapter.onBatch(batch, live)).rejects.toBeInstanceOf(AdapterShutdownError);
    await expect(adapter.pollShard(0, undefined, 1)).rejects.toBeInstanceOf(AdapterShutdownError);
    await expect(adapter.flush()).rejects.toBeInstanceOf(AdapterShutdownError);
    await expect(adapter.init({ logger: silentLogger })).rejects.toBeInstanceOf(AdapterShutdownError);
    expect(adapter.client.status).toBe("end"); // it created the client, so it closed it
  });

  it("a failed init can be called again once the server is back", async () => {
    const { server, adapter } = await setup({ connectTimeoutMs: 1_000 });
    await server.kill();
    await expect(adapter.init({ logger: silentLogger })).rejects.toBeInstanceOf(ConnectionError);
    expect(await adapter.isHealthy()).toBe(false);
    await server.restart();
    await adapter.init({ logger: silentLogger });
    expect(await adapter.isHealthy()).toBe(true);
    await adapter.onBatch(new TestProducer().batch(0, ['{"x":1}']), live);
    expect((await adapter.pollShard(0, undefined, 10)).events).toHaveLength(1);
  });

  it("shutdown during init wins: init rejects with AdapterShutdownError and the client is closed", async () => {
    const { adapter } = await setup();
    const opening = adapter.init({ logger: silentLogger });
    await adapter.shutdown();
    await expect(opening).rejects.toBeInstanceOf(AdapterShutdownError);
    expect(adapter.client.status).toBe("end");
    expect(await adapter.isHealthy()).toBe(false);
  });

  it("leaves a caller's client connected at shutdown", async () => {
    const server = await startOwnRedis();
    servers.push(server);
    const client = new Redis(server.url());
    clients.push(client);
    const adapter = new RedisAdapter({ client, prefix: "borrowed" });
    await adapter.init({ logger: silentLogger });
    await adapter.onBatch(new TestProducer().batch(0, ['{"x":1}']), live);
    await adapter.shutdown();
    expect(await client.xlen(streamKey("borrowed", 0))).toBe(1);
    expect(client.status).toBe("ready");
  });
});

describe("script cache", () => {
  it("re-sends the script after SCRIPT FLUSH (NOSCRIPT), chunk by chunk, in order, and hits the cache again after", async () => {
    const { adapter, checker } = await setup({ maxEventsPerCall: 10 });
    await adapter.init({ logger: silentLogger });
    const producer = new TestProducer();
    const texts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `{"${tag}":${i}}`);
    const first = producer.batch(0, texts(5, "a"));
    await adapter.onBatch(first, live);
    expect(adapter.scriptReloads).toBe(0);
    await checker.script("FLUSH");
    const second = producer.batch(0, texts(35, "b")); // 4 chunks, each finding the script gone
    await adapter.onBatch(second, live);
    expect(adapter.scriptReloads).toBe(4);
    const third = producer.batch(0, texts(15, "c"));
    await adapter.onBatch(third, live);
    expect(adapter.scriptReloads).toBe(4); // EVAL put it back into the cache
    const stored = await readAll(adapter, 0);
    expect(stored.map((event) => event.json)).toEqual([...first.events, ...second.events, ...third.events]);
  });

  it("re-sends the read script after SCRIPT FLUSH too: the read after it is whole, the next one hits the cache", async () => {
    const { adapter, checker } = await setup({ directReads: false });
    await adapter.init({ logger: silentLogger });
    const batch = new TestProducer().batch(0, ['{"a":1}', '{"a":2}', '{"a":3}']);
    await adapter.onBatch(batch, live);
    await checker.script("FLUSH");
    const first = await adapter.pollShard(0, undefined, 2);
    expect(first.events.map((event) => event.json)).toEqual(['{"a":1}', '{"a":2}']);
    expect(first.hasMore).toBe(true);
    expect(adapter.scriptReloads).toBe(1);
    const rest = await adapter.pollShard(0, first.nextId, 2);
    expect(rest.events.map((event) => event.json)).toEqual(['{"a":3}']);
    expect(adapter.scriptReloads).toBe(1);
  });
});
