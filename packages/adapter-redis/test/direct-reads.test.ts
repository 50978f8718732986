import { readFileSync } from "node:fs";
import { TestProducer } from "@netmesh/adapter-testkit";
import {
  AdapterShutdownError,
  ConnectionError,
  FatalError,
  type ShardPage,
  TransientError,
  silentLogger,
} from "@netmesh/core/adapter";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { readAll, recordingLogger, sleep } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";
import { startDeafProxy, startTrickleProxy } from "./support/proxies.js";

// The direct read path: plain XRANGE over the adapter's own socket, decoded by the adapter. What every
// page must hold is covered on both paths by reads.test.ts and the conformance suite; this file covers
// what only this path has: its own connection (login, database, loss, recovery) and its decoder.

const live = new AbortController().signal;
const servers: OwnRedis[] = [];
const adapters: RedisAdapter[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.shutdown().catch(() => {})));
  for (const client of clients.splice(0)) client.disconnect();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

async function ownServer(args: readonly string[] = []): Promise<OwnRedis> {
  const server = await startOwnRedis(args);
  servers.push(server);
  return server;
}

async function ready(options: ConstructorParameters<typeof RedisAdapter>[0]): Promise<RedisAdapter> {
  const adapter = new RedisAdapter(options);
  adapters.push(adapter);
  await adapter.init({ logger: silentLogger });
  return adapter;
}

const jsons = (page: ShardPage) => page.events.map((event) => event.json);

function inspector(url: string): Redis {
  const client = new Redis(url);
  client.on("error", () => {}); // some tests stop the server under it
  clients.push(client);
  return client;
}

async function calls(redis: Redis, command: string): Promise<number> {
  const stats = await redis.info("commandstats");
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

describe("direct reads", () => {
  it("are the default on a plain server: pages are plain XRANGEs, no script call", async () => {
    const server = await ownServer();
    const adapter = await ready({ url: server.url(), prefix: "mode" });
    expect(adapter.readMode).toBe("direct");
    const inspect = inspector(server.url());
    await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}', '{"a":2}']), live);
    const scripts = await calls(inspect, "evalsha");
    const ranges = await calls(inspect, "xrange");
    const page = await adapter.pollShard(0, undefined, 10);
    expect(page.events.map((event) => event.json)).toEqual(['{"a":1}', '{"a":2}']);
    expect(await calls(inspect, "xrange")).toBe(ranges + 1);
    expect(await calls(inspect, "evalsha")).toBe(scripts);
    // Named like the adapter's client, for whoever reads CLIENT LIST.
    const names = String(await inspect.client("LIST")).match(/name=\S+/g) ?? [];
    expect(names.filter((name) => name === "name=netmesh-adapter-redis").length).toBe(2);
  });

  it("give way to the read script for directReads: false and for a keyPrefix client", async () => {
    const server = await ownServer();
    const off = await ready({ url: server.url(), prefix: "off", directReads: false });
    expect(off.readMode).toBe("script");
    const client = new Redis(server.url(), { keyPrefix: "app:" });
    clients.push(client);
    const prefixed = await ready({ client, prefix: "prefixed" });
    expect(prefixed.readMode).toBe("script");
    // The keyPrefix applies to what the client writes, and the read script reads it back.
    await prefixed.onBatch(new TestProducer().batch(0, ['{"p":1}']), live);
    expect((await readAll(prefixed, 0)).map((event) => event.json)).toEqual(['{"p":1}']);
  });

  it("decode replies cut at any byte: many events, multi-byte text, and one event larger than a socket read", async () => {
    const server = await ownServer();
    const proxy = await startTrickleProxy(server.port, 7);
    try {
      const adapter = await ready({
        url: `redis://127.0.0.1:${proxy.port}`,
        prefix: "cut",
        commandTimeoutMs: 20_000,
      });
      expect(adapter.readMode).toBe("direct");
      const texts = Array.from({ length: 300 }, (_, i) =>
        JSON.stringify({ i, text: `é€𝄞 ${"x".repeat(i % 40)}` }),
      );
      const direct = new RedisAdapter({ url: server.url(), prefix: "cut" });
      adapters.push(direct);
      await direct.init({ logger: silentLogger });
      await direct.onBatch(new TestProducer().batch(0, texts), live);
      const events = await readAll(adapter, 0, 64);
      expect(events.map((event) => event.json)).toEqual(texts);
    } finally {
      await proxy.close();
    }
    // A 3 MiB event spans many socket reads without a trickle: it is decoded once, whole.
    const adapter = await ready({ url: server.url(), prefix: "huge" });
    const huge = JSON.stringify({ blob: "🚀".repeat(768 * 1024) });
    await adapter.onBatch(new TestProducer().batch(1, ['{"before":1}', huge, '{"after":1}']), live);
    const events = await readAll(adapter, 1, 2);
    expect(events.map((event) => event.json)).toEqual(['{"before":1}', huge, '{"after":1}']);
  });

  it("read pages in flight on one connection in parallel, each answered with its own shard", async () => {
    const server = await ownServer();
    const adapter = await ready({ url: server.url(), prefix: "parallel" });
    const producer = new TestProducer();
    for (let shard = 0; shard < 8; shard++) {
      await adapter.onBatch(
        producer.batch(
          shard,
          Array.from({ length: 50 }, (_, i) => `{"s":${shard},"i":${i}}`),
        ),
        live,
      );
    }
    const pages = await Promise.all(
      Array.from({ length: 8 }, (_, shard) => adapter.pollShard(shard, undefined, 50)),
    );
    pages.forEach((page, shard) => {
      expect(page.hasMore).toBe(false);
      expect(page.events.map((event) => event.json)).toEqual(
        Array.from({ length: 50 }, (_, i) => `{"s":${shard},"i":${i}}`),
      );
      expect(page.events.every((event) => event.shard === shard)).toBe(true);
    });
  });

  it("log in and select the client's database, and a refused login fails the read as fatal", async () => {
    const server = await ownServer(["--requirepass", "s3cret"]);
    const adapter = await ready({ url: `${server.url(undefined, "s3cret")}/3`, prefix: "auth" });
    expect(adapter.readMode).toBe("direct");
    await adapter.onBatch(new TestProducer().batch(0, ['{"db":3}']), live);
    expect((await readAll(adapter, 0)).map((event) => event.json)).toEqual(['{"db":3}']);
    const admin = inspector(server.url(undefined, "s3cret"));
    await admin.select(3);
    expect(await admin.exists("{auth:shard:0}")).toBe(1); // written and read in database 3

    // A password changed while the adapter runs: its client stays logged in, a new read connection is refused.
    const late = await ready({ url: server.url(undefined, "s3cret"), prefix: "late" });
    await admin.config("SET", "requirepass", "changed");
    const error = await late.pollShard(0, undefined, 10).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FatalError);
    expect(String((error as Error).message)).toMatch(/WRONGPASS/);
    expect(String((error as Error).message)).not.toContain("s3cret");
  });

  it("recover from a server that stops answering: the read times out, the next one reads on a fresh connection", async () => {
    const server = await ownServer();
    const adapter = await ready({ url: server.url(), prefix: "paused", commandTimeoutMs: 300 });
    await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), live);
    expect((await adapter.pollShard(0, undefined, 10)).events).toHaveLength(1);
    await server.pause();
    try {
      const started = Date.now();
      await expect(adapter.pollShard(0, undefined, 10)).rejects.toBeInstanceOf(TransientError);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      server.resume();
    }
    const page = await adapter.pollShard(0, undefined, 10);
    expect(page.events.map((event) => event.json)).toEqual(['{"a":1}']);
  });

  it("a timed-out read drops only the connection it was sent on: a read retried at once reads on the fresh one", async () => {
    const server = await ownServer();
    const writer = await ready({ url: server.url(), prefix: "reset" });
    await writer.onBatch(new TestProducer().batch(0, ['{"a":1}']), live);
    // Connection 0 is the adapter's ioredis client, 1 its first direct socket (deaf), 2 the fresh one.
    const proxy = await startDeafProxy(server.port, 1);
    try {
      const adapter = await ready({
        url: `redis://127.0.0.1:${proxy.port}`,
        prefix: "reset",
        commandTimeoutMs: 300,
      });
      let retry: Promise<ShardPage> | undefined;
      const first = adapter.pollShard(0, undefined, 10).catch((error: unknown) => {
        retry = adapter.pollShard(0, undefined, 10); // goes out on a new connection
        throw error;
      });
      // Failed by the first one's timeout: it must not drop the connection the retry went out on.
      const second = adapter.pollShard(0, undefined, 10);
      const outcomes = await Promise.allSettled([first, second]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
      expect(jsons(await retry!)).toEqual(['{"a":1}']);
    } finally {
      await proxy.close();
    }
  });

  it("recover from a restart: reads in flight fail as a lost connection, later reads see what the server kept", async () => {
    const server = await ownServer(["--appendonly", "yes", "--appendfsync", "always"]);
    const logger = recordingLogger();
    const adapter = new RedisAdapter({ url: server.url(), prefix: "restart", commandTimeoutMs: 2_000 });
    adapters.push(adapter);
    await adapter.init({ logger });
    const texts = Array.from({ length: 2_000 }, (_, i) => `{"i":${i},"pad":"${"p".repeat(200)}"}`);
    await adapter.onBatch(new TestProducer().batch(0, texts), live);
    const inFlight = Array.from({ length: 20 }, () =>
      adapter.pollShard(0, undefined, 2_000).catch((error: unknown) => error),
    );
    await server.kill();
    const outcomes = await Promise.all(inFlight);
    const failures = outcomes.filter((outcome) => outcome instanceof Error);
    for (const failure of failures) expect(failure).toBeInstanceOf(ConnectionError);
    await expect(adapter.pollShard(0, undefined, 10)).rejects.toBeInstanceOf(ConnectionError);
    await server.restart();
    let events: readonly { json: string }[] = [];
    for (let tries = 0; tries < 50; tries++) {
      try {
        events = await readAll(adapter, 0, 500);
        break;
      } catch (error) {
        expect(error).toBeInstanceOf(ConnectionError); // the server is still loading its AOF
        await sleep(100);
      }
    }
    expect(events.map((event) => event.json)).toEqual(texts);
  });

  it("at shutdown, reads in flight are answered (QUIT goes after them), as on the read script's path", async () => {
    const server = await ownServer();
    const adapter = await ready({ url: server.url(), prefix: "draining" });
    const texts = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, pad: "p".repeat(300) }));
    await adapter.onBatch(new TestProducer().batch(0, texts), live);
    await adapter.pollShard(0, undefined, 1); // the direct socket is open
    const reads = Array.from({ length: 3 }, () =>
      adapter.pollShard(0, undefined, 5000).catch((error: unknown) => error),
    );
    await new Promise((resolve) => setImmediate(resolve));
    await adapter.shutdown();
    for (const outcome of await Promise.all(reads)) {
      expect(outcome instanceof Error ? outcome : jsons(outcome as ShardPage)).toEqual(texts);
    }
  });

  it("at shutdown, reads the server does not answer reject with AdapterShutdownError within commandTimeoutMs", async () => {
    const server = await ownServer();
    const adapter = await ready({ url: server.url(), prefix: "unanswered", commandTimeoutMs: 2_000 });
    await adapter.pollShard(0, undefined, 1); // the direct socket is open
    await server.pause();
    try {
      let settled = 0;
      const read = adapter.pollShard(0, undefined, 10).catch((error: unknown) => error);
      void read.then(() => {
        settled = Date.now();
      });
      await sleep(20);
      const started = Date.now();
      await adapter.shutdown();
      expect(await read).toBeInstanceOf(AdapterShutdownError);
      expect(settled - started).toBeGreaterThanOrEqual(1_500); // it had its chance to be answered
      expect(settled - started).toBeLessThan(3_000);
    } finally {
      server.resume();
    }
  });

  it("after shutdown, a read rejects with AdapterShutdownError and opens nothing", async () => {
    const server = await ownServer();
    const adapter = await ready({ url: server.url(), prefix: "closed" });
    await adapter.pollShard(0, undefined, 1);
    const inspect = inspector(server.url());
    await adapter.shutdown();
    const connected = async () =>
      String(await inspect.client("LIST"))
        .split("\n")
        .filter(Boolean).length;
    const clientsBefore = await connected();
    await expect(adapter.pollShard(0, undefined, 1)).rejects.toBeInstanceOf(AdapterShutdownError);
    await sleep(50);
    expect(await connected()).toBe(clientsBefore);
  });
});

describe("direct reads connect as the client does", () => {
  it("with TCP keep-alive, as the client's keepAlive (30 s by default) says", async () => {
    const server = await ownServer();
    const adapter = await ready({ url: server.url(), prefix: "keepalive" });
    await adapter.pollShard(0, undefined, 1);
    const list = String(await inspector(server.url()).client("LIST")).split("\n");
    const port = list.map((line) => /addr=127\.0\.0\.1:(\d+) .*cmd=xrange/.exec(line)?.[1]).find(Boolean);
    expect(port).toBeDefined();
    // /proc/net/tcp: local address as hex IP:port; "tr" (timer) 02 is the keep-alive timer of an idle socket.
    const local = `0100007F:${Number(port).toString(16).toUpperCase().padStart(4, "0")}`;
    const row = readFileSync("/proc/net/tcp", "utf8")
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .find((fields) => fields[1] === local);
    expect(row?.[5]?.split(":")[0]).toBe("02");
  });

  it("a URL password the server does not need (ioredis logs in with AUTH default <password>)", async () => {
    const server = await ownServer();
    const adapter = await ready({ url: server.url(undefined, "unneeded"), prefix: "unneeded" });
    await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), live);
    expect(adapter.readMode).toBe("direct");
    // A one-argument AUTH <password> is refused: "called without any password configured for the default user".
    expect(jsons(await adapter.pollShard(0, undefined, 10))).toEqual(['{"a":1}']);
  });

  it("an ACL user named without a password (a nopass user) is logged in as, not left as the default user", async () => {
    const server = await ownServer();
    const admin = inspector(server.url());
    await admin.call("ACL", "SETUSER", "alice", "on", "nopass", "~*", "&*", "+@all");
    await admin.call("ACL", "SETUSER", "default", "off");
    const adapter = await ready({ url: `redis://alice@127.0.0.1:${server.port}`, prefix: "nopass" });
    await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), live);
    expect(jsons(await adapter.pollShard(0, undefined, 10))).toEqual(['{"a":1}']);
  });

  it("a caller's client that SELECTs a database, before or after the adapter's first read: direct reads and XREAD's duplicate follow it", async () => {
    const server = await ownServer();
    const mine = inspector(server.url());
    await mine.select(5);
    const adapter = await ready({ client: mine, prefix: "selected" });
    const producer = new TestProducer();
    await adapter.onBatch(producer.batch(0, ['{"a":1}']), live);
    const first = await adapter.pollShard(0, undefined, 10);
    expect(jsons(first)).toEqual(['{"a":1}']);
    // Caught up, readShard waits in XREAD BLOCK on a duplicate, which must be on database 5 too.
    const stop = new AbortController();
    const pages = adapter
      .readShard(0, first.nextId, { signal: stop.signal, limit: 10 })
      [Symbol.asyncIterator]();
    const next = pages.next();
    const write = setTimeout(
      () => adapter.onBatch(producer.batch(0, ['{"a":2}']), live).catch(() => {}),
      200,
    );
    const late = setTimeout(() => stop.abort(), 3_000);
    try {
      const { value } = await next;
      expect(value === undefined ? [] : jsons(value as ShardPage)).toEqual(['{"a":2}']);
    } finally {
      clearTimeout(write);
      clearTimeout(late);
      stop.abort();
    }
    // A SELECT after the direct connection is open: the next read goes there too.
    await mine.select(6);
    await adapter.onBatch(new TestProducer().batch(0, ['{"db":6}']), live);
    expect(jsons(await adapter.pollShard(0, undefined, 10))).toEqual(['{"db":6}']);
    const six = inspector(`${server.url()}/6`);
    expect(await six.xlen("{selected:shard:0}")).toBe(1);
  });
});
