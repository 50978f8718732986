import { TestProducer } from "@netmesh/adapter-testkit";
import { createBus } from "@netmesh/core";
import {
  type AdapterError,
  BackendBackpressureError,
  ConnectionError,
  FatalError,
  TransientError,
  silentLogger,
} from "@netmesh/core/adapter";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { RedisAdapter, streamKey } from "../src/index.js";
import { deleteKeys, recordingLogger, uniquePrefix } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

// Real servers answering with real error replies, each classified as the contract requires.
const url = inject("redisUrl");
const live = new AbortController().signal;
const servers: OwnRedis[] = [];
const adapters: RedisAdapter[] = [];
const clients: Redis[] = [];

async function own(args: string[]): Promise<OwnRedis> {
  const server = await startOwnRedis(args);
  servers.push(server);
  return server;
}

function adapter(options: ConstructorParameters<typeof RedisAdapter>[0]): RedisAdapter {
  const made = new RedisAdapter({ commandTimeoutMs: 3_000, connectTimeoutMs: 3_000, ...options });
  adapters.push(made);
  return made;
}

function client(serverUrl: string): Redis {
  const made = new Redis(serverUrl);
  clients.push(made);
  return made;
}

/** The rejection of `work`, which must reject. */
async function failure(work: Promise<unknown>): Promise<AdapterError> {
  const outcome = await work.then(
    () => new Error("expected a rejection"),
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error) || outcome.message === "expected a rejection") throw outcome;
  return outcome as AdapterError;
}

const batch = () => new TestProducer().batch(0, ['{"x":1}', '{"x":2}']);
const padded = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ i, pad: "x".repeat(1000) }));

async function usedMemory(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
}

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((made) => made.shutdown()));
  for (const made of clients.splice(0)) made.disconnect();
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

describe("error replies of a real server", () => {
  let shared: Redis;
  const prefixes: string[] = [];
  beforeAll(() => {
    shared = new Redis(url);
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(shared, prefix);
    shared.disconnect();
  });

  it("WRONGTYPE (the stream key holds a string) → fatal, nothing written", async () => {
    const prefix = uniquePrefix("wrongtype");
    prefixes.push(prefix);
    await shared.set(streamKey(prefix, 0), "not a stream");
    const made = adapter({ url, prefix });
    await made.init({ logger: silentLogger });
    const error = await failure(made.onBatch(batch(), live));
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toMatch(/WRONGTYPE/);
    expect(await shared.get(streamKey(prefix, 0))).toBe("not a stream");
  });

  it("OOM under maxmemory → backpressure, refused before anything is written", async () => {
    const server = await own([]);
    const made = adapter({ url: server.url(), prefix: "oom" });
    await made.init({ logger: silentLogger });
    await client(server.url()).config("SET", "maxmemory", "1");
    const error = await failure(made.onBatch(batch(), live));
    expect(error).toBeInstanceOf(BackendBackpressureError);
    expect(error.message).toMatch(/OOM/);
    await client(server.url()).config("SET", "maxmemory", "0");
    expect(await client(server.url()).exists(streamKey("oom", 0))).toBe(0);
    await made.onBatch(batch(), live); // memory back: the retry succeeds
  });

  it("OOM refusing a later chunk after the first chunks were stored → backpressure with notStored false", async () => {
    const server = await own([]);
    const admin = client(server.url());
    const made = adapter({ url: server.url(), prefix: "oom-partial" });
    await made.init({ logger: silentLogger });
    await admin.config("SET", "maxmemory", String((await usedMemory(admin)) + 2.5 * 1024 * 1024));
    // Three chunks of 1,000 events of ~1 KB: the first chunks stored push memory over the limit.
    const error = await failure(made.onBatch(new TestProducer().batch(0, padded(3000)), live));
    const stored = await admin.xlen(streamKey("oom-partial", 0));
    expect(stored).toBeGreaterThan(0); // 1,000 or 2,000
    expect(error).toBeInstanceOf(BackendBackpressureError);
    expect(error.notStored).toBe(false);
  });

  it("through a bus, those stored events are counted uncertain, not lost (dropped − uncertain are not stored)", async () => {
    const server = await own([]);
    const admin = client(server.url());
    const made = adapter({ url: server.url(), prefix: "oom-bus" });
    const bus = await createBus({
      adapter: made,
      logger: silentLogger,
      shards: 1,
      retries: 2,
      retryBaseDelayMs: 20,
      batch: { minSize: 3000, maxSize: 3000, maxDelayMs: 500, adaptive: false },
    });
    await admin.config("SET", "maxmemory", String((await usedMemory(admin)) + 2.5 * 1024 * 1024));
    for (let i = 0; i < 3000; i++) bus.ingest({ i, pad: "x".repeat(1000) }, { key: "k" });
    await bus.flush();
    const stats = bus.stats();
    const stored = await admin.xlen(streamKey("oom-bus", 0));
    await bus.shutdown();
    expect(stored).toBeGreaterThan(0);
    expect(stats.dropped).toBe(3000); // the batch was given up on whole…
    expect(stats.dropped - stats.uncertain).toBeLessThanOrEqual(3000 - stored); // …but not counted lost
  });

  it("reads go on while writes are refused: out of memory under maxmemory, too few replicas", async () => {
    const server = await own([]);
    const made = adapter({ url: server.url(), prefix: "refusing" });
    await made.init({ logger: silentLogger });
    await made.onBatch(batch(), live);
    const admin = client(server.url());
    for (const [name, value, code] of [
      ["maxmemory", "1", /OOM/],
      ["min-replicas-to-write", "1", /NOREPLICAS/],
    ] as const) {
      await admin.config("SET", name, value);
      expect((await failure(made.onBatch(batch(), live))).message).toMatch(code);
      const page = await made.pollShard(0, undefined, 10);
      expect(page.events.map((event) => event.json)).toEqual(['{"x":1}', '{"x":2}']);
      await admin.config("SET", name, "0");
    }
  });

  it("NOREPLICAS (min-replicas-to-write without replicas) → transient", async () => {
    const server = await own(["--min-replicas-to-write", "1"]);
    const made = adapter({ url: server.url(), prefix: "noreplicas" });
    await made.init({ logger: silentLogger });
    const error = await failure(made.onBatch(batch(), live));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/NOREPLICAS/);
  });

  it("MISCONF (a failed background save under stop-writes-on-bgsave-error) → transient, retried once it can persist", async () => {
    const server = await own(["--save", "3600 1", "--enable-protected-configs", "yes"]);
    const made = adapter({ url: server.url(), prefix: "misconf" });
    await made.init({ logger: silentLogger });
    const admin = client(server.url());
    const [, dir] = (await admin.config("GET", "dir")) as [string, string];
    // A save into a directory that is gone fails, and the server then refuses writes.
    const gone = mkdtempSync(join(tmpdir(), "netmesh-misconf-"));
    await admin.config("SET", "dir", gone);
    rmSync(gone, { recursive: true });
    await admin.bgsave();
    let status = "";
    for (let tries = 0; !status.includes("rdb_last_bgsave_status:err") && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await admin.info("persistence");
    }
    expect(status).toContain("rdb_last_bgsave_status:err");
    const error = await failure(made.onBatch(batch(), live));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/MISCONF/);
    await admin.config("SET", "dir", dir);
    await admin.bgsave();
    for (let tries = 0; !status.includes("rdb_last_bgsave_status:ok") && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await admin.info("persistence");
    }
    await made.onBatch(batch(), live); // it can persist again: the retry succeeds
    expect(await admin.xlen(streamKey("misconf", 0))).toBe(2);
  });

  it("READONLY (writing to a replica) → transient", async () => {
    const primary = await own([]);
    const replica = await own(["--replicaof", "127.0.0.1", String(primary.port)]);
    const made = adapter({ url: replica.url(), prefix: "readonly" });
    await made.init({ logger: silentLogger });
    const error = await failure(made.onBatch(batch(), live));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/READONLY/);
    // Reads are served by the replica.
    const writer = adapter({ url: primary.url(), prefix: "readonly" });
    await writer.init({ logger: silentLogger });
    await writer.onBatch(batch(), live);
    let page = await made.pollShard(0, undefined, 10);
    for (let tries = 0; page.events.length < 2 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50)); // until the replica has synced
      page = await made.pollShard(0, undefined, 10);
    }
    expect(page.events.map((event) => event.json)).toEqual(['{"x":1}', '{"x":2}']);
  });

  it("MASTERDOWN (reading a replica that may not serve stale data, its primary gone) → transient", async () => {
    const primary = await own([]);
    const replica = await own([
      "--replicaof",
      "127.0.0.1",
      String(primary.port),
      "--replica-serve-stale-data",
      "no",
    ]);
    await primary.kill();
    // SCRIPT LOAD is allowed on a stale replica, so init succeeds; a write is refused as READONLY
    // first, so the read shows MASTERDOWN.
    const made = adapter({ url: replica.url(), prefix: "masterdown" });
    await made.init({ logger: silentLogger });
    const error = await failure(made.pollShard(0, undefined, 10));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/MASTERDOWN/);
  });

  it("BUSY (another client's script runs past the busy threshold) → transient", async () => {
    const server = await own(["--busy-reply-threshold", "50"]);
    const made = adapter({ url: server.url(), prefix: "busy" });
    await made.init({ logger: silentLogger });
    const blocker = client(server.url());
    const killer = client(server.url());
    await Promise.all([blocker.ping(), killer.ping()]); // connected before the server gets busy
    const spinning = blocker
      .eval("local i = 0 while i < 2e9 do i = i + 1 end return i", 0)
      .catch((e: Error) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const error = await failure(made.onBatch(batch(), live));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/BUSY/);
    await killer.script("KILL");
    expect(String(await spinning)).toMatch(/killed/i);
  });

  it("CLUSTERDOWN (a cluster node serving no slots) → transient", async () => {
    const server = await own(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]);
    const made = adapter({ url: server.url(), prefix: "clusterdown" });
    await made.init({ logger: silentLogger });
    const error = await failure(made.onBatch(batch(), live));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toMatch(/CLUSTERDOWN/);
  });
});

describe("authentication and permissions", () => {
  const password = "Sup3r-s3cret-Pw";
  let server: OwnRedis;
  beforeAll(async () => {
    server = await own(["--requirepass", password]);
  });

  it("connects with the right password and round-trips", async () => {
    const made = adapter({ url: server.url("default", password), prefix: "auth-ok" });
    await made.init({ logger: silentLogger });
    await made.onBatch(batch(), live);
    expect((await made.pollShard(0, undefined, 10)).events).toHaveLength(2);
  });

  it("a wrong password → fatal init, the password in no message", async () => {
    const made = adapter({ url: server.url("default", "wrong-Pw-1234"), prefix: "auth-bad" });
    const logger = recordingLogger();
    const error = await failure(made.init({ logger }));
    expect(logger.lines.length).toBeGreaterThan(0); // the connection error was logged…
    expect(logger.text()).not.toContain("wrong-Pw-1234"); // …without the password
    expect(logger.text()).toContain("redis://[REDACTED]@127.0.0.1");
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toMatch(/WRONGPASS/);
    expect(error.message).not.toContain("wrong-Pw-1234");
    expect(error.message).toContain("[REDACTED]");
  });

  it("no password → fatal init (NOAUTH)", async () => {
    const made = adapter({ url: server.url(), prefix: "auth-none" });
    const error = await failure(made.init({ logger: silentLogger }));
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toMatch(/NOAUTH/);
  });

  it("a user without script permissions → fatal init (NOPERM)", async () => {
    const admin = client(server.url("default", password));
    await admin.acl("SETUSER", "reader", "on", ">reader-Pw-99", "~*", "+@read", "+@connection", "+info");
    const made = adapter({ url: server.url("reader", "reader-Pw-99"), prefix: "noperm" });
    const error = await failure(made.init({ logger: silentLogger }));
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toMatch(/NOPERM/);
    expect(error.message).not.toContain("reader-Pw-99");
  });
});

describe("connections", () => {
  it("a refused connection → retryable ConnectionError within the connect timeout", async () => {
    const server = await own([]);
    await server.kill();
    const made = adapter({
      url: server.url("u", "refused-Pw-77"),
      prefix: "refused",
      connectTimeoutMs: 2_000,
    });
    const logger = recordingLogger();
    const started = Date.now();
    const error = await failure(made.init({ logger }));
    expect(logger.text()).not.toContain("refused-Pw-77");
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.isRetryable).toBe(true);
    expect(error.message).not.toContain("refused-Pw-77");
    expect(error.message).toContain("redis://[REDACTED]@127.0.0.1");
    expect(await made.isHealthy()).toBe(false);
  });
});
