import { type Server, type Socket, createConnection, createServer } from "node:net";
import { TestProducer } from "@netmesh/adapter-testkit";
import { createBus } from "@netmesh/core";
import { type AdapterError, type ShardPage, silentLogger } from "@netmesh/core/adapter";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RedisAdapter, streamKey } from "../src/index.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

// Reproductions of the defects found by the audit of h/redisaudit. Each case asserts the documented (or
// path-consistent) behaviour and is marked `it.fails` because the code does not do that yet: fix the
// defect and the case starts failing, so turn it into a plain `it`.

const live = new AbortController().signal;
const servers: OwnRedis[] = [];
const adapters: RedisAdapter[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.shutdown().catch(() => {})));
  for (const client of clients.splice(0)) client.disconnect();
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function own(args: string[] = []): Promise<OwnRedis> {
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
function client(url: string, options = {}): Redis {
  const made = new Redis(url, options);
  made.on("error", () => {});
  clients.push(made);
  return made;
}
const jsons = (page: ShardPage) => page.events.map((event) => event.json);

/** A loopback proxy whose connection number `deaf` (0-based) forwards requests but never a reply. */
async function deafProxy(targetPort: number, deaf: number) {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const silent = accepted++ === deaf;
    const up = createConnection({ host: "127.0.0.1", port: targetPort });
    sockets.add(down).add(up);
    up.on("data", (data: Buffer) => {
      if (!silent) down.write(data);
    });
    down.on("data", (data: Buffer) => up.write(data));
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on("close", end).on("error", end);
    up.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("audit findings: direct reads reach the server differently from the client", () => {
  it("F1: a URL password the server does not need: writes work, every direct read is fatal", async () => {
    const server = await own();
    const adapter = await ready({ url: server.url(undefined, "unneeded"), prefix: "f1" });
    await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), live);
    // ioredis logs in with HELLO 3 AUTH default <pw> (accepted by a nopass default user); the direct
    // socket sends the one-argument AUTH <pw>, which Redis refuses: "ERR AUTH <password> called without
    // any password configured for the default user".
    expect(jsons(await adapter.pollShard(0, undefined, 10))).toEqual(['{"a":1}']);
  });

  it("F2: an ACL user named without a password (nopass): direct reads log in as nobody (NOAUTH)", async () => {
    const server = await own();
    const admin = client(server.url());
    await admin.call("ACL", "SETUSER", "alice", "on", "nopass", "~*", "&*", "+@all");
    await admin.call("ACL", "SETUSER", "default", "off");
    const adapter = await ready({ url: `redis://alice@127.0.0.1:${server.port}`, prefix: "f2" });
    await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), live);
    expect(jsons(await adapter.pollShard(0, undefined, 10))).toEqual(['{"a":1}']);
  });

  it("F3: a caller's client that SELECTed a database: direct reads (and XREAD's duplicate) read database 0", async () => {
    const server = await own();
    const mine = client(server.url());
    await mine.select(5);
    const adapter = await ready({ client: mine, prefix: "f3" });
    const producer = new TestProducer();
    await adapter.onBatch(producer.batch(0, ['{"a":1}']), live);
    const first = await adapter.pollShard(0, undefined, 10);
    expect(jsons(first)).toEqual(['{"a":1}']);
    // Caught up, readShard waits in XREAD BLOCK on a duplicate, which must be on database 5 too.
    const stop = new AbortController();
    const pages = adapter.readShard(0, first.nextId, { signal: stop.signal, limit: 10 })[Symbol.asyncIterator]();
    const next = pages.next();
    const write = setTimeout(() => adapter.onBatch(producer.batch(0, ['{"a":2}']), live).catch(() => {}), 200);
    const late = setTimeout(() => stop.abort(), 3_000);
    try {
      const { value } = await next;
      expect(value === undefined ? [] : jsons(value as ShardPage)).toEqual(['{"a":2}']);
    } finally {
      clearTimeout(write);
      clearTimeout(late);
      stop.abort();
    }
  });
});

describe("audit findings: notStored claims nothing was stored after part of the batch was", () => {
  it("F4: OOM refuses a later chunk after earlier chunks were stored: the error says notStored", async () => {
    const server = await own();
    const admin = client(server.url());
    const adapter = await ready({ url: server.url(), prefix: "f4" });
    const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))![1]);
    await admin.config("SET", "maxmemory", String(used + 2.5 * 1024 * 1024));
    const texts = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, pad: "x".repeat(1000) }));
    const error = (await adapter
      .onBatch(new TestProducer().batch(0, texts), live)
      .catch((e) => e)) as AdapterError;
    const stored = await admin.xlen(streamKey("f4", 0));
    expect(stored).toBeGreaterThan(0); // 1,000 or 2,000 of the 3 chunks
    expect(error.kind).toBe("backpressure");
    expect(error.notStored).toBe(false);
  });

  it("F4b: through a bus, those stored events are counted lost (dropped − uncertain)", async () => {
    const server = await own();
    const admin = client(server.url());
    const adapter = new RedisAdapter({ url: server.url(), prefix: "f4b" });
    const bus = await createBus({
      adapter,
      shards: 1,
      retries: 2,
      retryBaseDelayMs: 20,
      batch: { minSize: 3000, maxSize: 3000, maxDelayMs: 500, adaptive: false },
    });
    const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))![1]);
    await admin.config("SET", "maxmemory", String(used + 2.5 * 1024 * 1024));
    for (let i = 0; i < 3000; i++) bus.ingest({ i, pad: "x".repeat(1000) }, { key: "k" });
    await bus.flush();
    const stats = bus.stats();
    const stored = await admin.xlen(streamKey("f4b", 0));
    await bus.shutdown();
    expect(stored).toBeGreaterThan(0);
    expect(stats.dropped - stats.uncertain).toBeLessThanOrEqual(3000 - stored);
  });

  it("F5: maxAgeMs beyond the epoch: every batch is stored, then rejected as fatal (XTRIM MINID <negative>)", async () => {
    const server = await own();
    const admin = client(server.url());
    const adapter = await ready({ url: server.url(), prefix: "f5", maxAgeMs: 100 * 365 * 86_400_000 });
    const outcome = await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), live).then(
      () => undefined,
      (error: AdapterError) => error,
    );
    expect(await admin.xlen(streamKey("f5", 0))).toBe(1);
    expect(outcome).toBeUndefined(); // today: FatalError "Invalid stream ID", notStored true
  });
});

describe("audit findings: connection lifecycle", () => {
  it("F6: a caller's client with enableOfflineQueue: false: readShard fails as soon as it catches up", async () => {
    const server = await own();
    const mine = client(server.url(), { enableOfflineQueue: false });
    await new Promise((resolve) => mine.once("ready", resolve));
    const adapter = await ready({ client: mine, prefix: "f6" });
    const stop = new AbortController();
    const pages = adapter.readShard(0, undefined, { signal: stop.signal, limit: 10 })[Symbol.asyncIterator]();
    const first = pages.next();
    const write = setTimeout(
      () => adapter.onBatch(new TestProducer().batch(0, [`{"a":1}`]), live).catch(() => {}),
      200,
    );
    try {
      // today: ConnectionError "Stream isn't writeable and enableOfflineQueue options is false" (the
      // XREAD goes out on a duplicate that has not connected yet); the groups' watch is lost the same way.
      const { value } = await first;
      expect(jsons(value as ShardPage)).toEqual(['{"a":1}']);
    } finally {
      clearTimeout(write);
      stop.abort();
    }
  });

  it("F7: a timed-out read's reset is repeated by every read it failed, killing a read on the fresh connection", async () => {
    const server = await own();
    const writer = await ready({ url: server.url(), prefix: "f7" });
    await writer.onBatch(new TestProducer().batch(0, ['{"a":1}']), live);
    // Connection 0 is the adapter's ioredis client, 1 its first direct socket (deaf), 2 the fresh one.
    const proxy = await deafProxy(server.port, 1);
    try {
      const adapter = await ready({
        url: `redis://127.0.0.1:${proxy.port}`,
        prefix: "f7",
        commandTimeoutMs: 300,
      });
      let retry: Promise<ShardPage> | undefined;
      const first = adapter.pollShard(0, undefined, 10).catch((error: unknown) => {
        retry = adapter.pollShard(0, undefined, 10); // retried at once: goes out on a new connection
        throw error;
      });
      const second = adapter.pollShard(0, undefined, 10);
      await Promise.allSettled([first, second]);
      // today: TransientError "no reply within 300 ms", ~1 ms after it was sent on a healthy connection
      expect(jsons(await retry!)).toEqual(['{"a":1}']);
    } finally {
      await proxy.close();
    }
  });

  it("F8: reads in flight at shutdown: the read script finishes them, direct reads fail them as retryable", async () => {
    const server = await own();
    const adapter = await ready({ url: server.url(), prefix: "f8" });
    const texts = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, pad: "p".repeat(300) }));
    await adapter.onBatch(new TestProducer().batch(0, texts), live);
    await adapter.pollShard(0, undefined, 1); // the direct socket is open
    const reads = Array.from({ length: 3 }, () =>
      adapter.pollShard(0, undefined, 5000).catch((e: AdapterError) => e),
    );
    await new Promise((resolve) => setImmediate(resolve));
    await adapter.shutdown();
    for (const outcome of await Promise.all(reads)) {
      // today: ConnectionError (retryable) "Connection is closed. (the adapter is shut down)"
      expect(outcome instanceof Error ? (outcome as AdapterError).isRetryable : false).toBe(false);
    }
  });
});
