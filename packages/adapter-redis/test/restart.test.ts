import { type EventBus, createBus } from "@netmesh/core";
import type { StoredEvent } from "@netmesh/core/adapter";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, readAll, recordingLogger, sleep, uniquePrefix } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";
import { startReplyCutter } from "./support/reply-cutter.js";

// A bus with retries over connections that die mid-batch: afterwards every event is stored exactly once.
const url = inject("redisUrl");
const SHARDS = 4;
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A bus patient enough to outlast a server restart: many quick retries, short attempt timeouts. */
async function patientBus(adapter: RedisAdapter, logger = recordingLogger()): Promise<EventBus> {
  const bus = await createBus({
    adapter,
    shards: SHARDS,
    backpressure: "block",
    retries: 40,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 250,
    adapterTimeoutMs: 2_000,
    batch: { maxDelayMs: 2 },
    logger,
  });
  cleanups.push(async () => {
    await bus.shutdown({ deadlineMs: 2_000 }).catch(() => {});
  });
  return bus;
}

/**
 * Ingests `total` events `{"n":i}` keyed over 64 keys, `chunk` at a time, calling `between(k)` after
 * the k-th chunk (to break things while batches are in flight). Resolves when the bus has flushed.
 */
async function ingest(bus: EventBus, total: number, chunk: number, between: (k: number) => Promise<void>) {
  const keys = Array.from({ length: 64 }, (_, k) => ({ key: `k${k}` }));
  for (let start = 0, k = 0; start < total; start += chunk, k++) {
    for (let i = start; i < Math.min(total, start + chunk); i++) {
      await bus.ingestOrWait({ n: i }, keys[i % 64]!);
    }
    await between(k);
  }
  await bus.flush();
}

/** Reads every shard and checks that events 0…total−1 are each there exactly once, in per-key order. */
async function expectExactlyOnce(adapter: RedisAdapter, total: number): Promise<void> {
  const seen = new Uint8Array(total);
  const lastPerKey = new Map<number, number>();
  for (let shard = 0; shard < SHARDS; shard++) {
    const events: StoredEvent[] = await readAll(adapter, shard);
    for (const event of events) {
      const { n } = JSON.parse(event.json) as { n: number };
      expect(seen[n], `event ${n} stored twice`).toBe(0);
      seen[n] = 1;
      const key = n % 64;
      expect(n, `event ${n} of key ${key} out of order`).toBeGreaterThan(lastPerKey.get(key) ?? -1);
      lastPerKey.set(key, n);
    }
  }
  const missing = seen.reduce((count, flag) => count + (flag === 0 ? 1 : 0), 0);
  expect(missing, "events lost").toBe(0);
}

describe("exactly once across lost connections", () => {
  it("a persistent private redis-server SIGKILLed mid-stream, twice, each time down longer than a command timeout", async () => {
    // appendfsync always: every write Redis acknowledged survives SIGKILL, so "exactly once" is checkable.
    const server: OwnRedis = await startOwnRedis(["--appendonly", "yes", "--appendfsync", "always"]);
    cleanups.push(() => server.stop());
    const adapter = new RedisAdapter({ url: server.url(), prefix: "restart", commandTimeoutMs: 1_000 });
    const logger = recordingLogger();
    const bus = await patientBus(adapter, logger);
    const total = 30_000;
    const retries = () => logger.lines.filter((line) => line.message === "batch failed, retrying").length;
    const retriedPerOutage: number[] = [];
    let outage: Promise<void> = Promise.resolve();
    // Ingest goes on while the server is down: those batches wait, time out, and are retried by the bus.
    const breakServer = () => {
      outage = outage.then(async () => {
        const before = retries();
        await server.kill();
        await sleep(1_500);
        await server.restart();
        await sleep(300); // let the retries land before counting them
        retriedPerOutage.push(retries() - before);
      });
    };
    await ingest(bus, total, 1_000, async (k) => {
      if (k === 2 || k === 20) breakServer();
      await sleep(100);
    });
    await outage;
    // Both outages hit batches in flight: attempts failed and the bus retried them.
    expect(retriedPerOutage).toHaveLength(2);
    expect(
      retriedPerOutage.every((count) => count > 0),
      `retries per outage: ${retriedPerOutage}`,
    ).toBe(true);
    const stats = bus.stats();
    expect(stats.dispatched).toBe(total);
    expect(stats.dropped).toBe(0);
    await expectExactlyOnce(adapter, total);
  });

  // Kills between two replies lose nothing by construction; a kill that lands after a script ran and
  // before its reply left is rare here. The reply-cutter test below forces that case every time.
  it("CLIENT KILL of the adapter's connection, again and again during ingest, on the shared server", async () => {
    const prefix = uniquePrefix("kill");
    const name = `netmesh-test-${prefix}`;
    const adapter = new RedisAdapter({ url, prefix, redisOptions: { connectionName: name } });
    const killer = new Redis(url);
    cleanups.push(async () => {
      await deleteKeys(killer, prefix);
      killer.disconnect();
    });
    const bus = await patientBus(adapter);
    const total = 60_000;
    let kills = 0;
    let ingesting = true;
    // A killer running beside the ingest, so kills land while scripts are in flight (not only between).
    const killing = (async () => {
      for (let round = 0; ingesting && kills < 12 && round < 2_000; round++) {
        await sleep(15);
        // Only our own connection, found by its name: the server is shared.
        const list = (await killer.client("LIST")) as string;
        const line = list.split("\n").find((entry) => entry.includes(` name=${name} `));
        const id = line === undefined ? undefined : /\bid=(\d+)/.exec(line)?.[1];
        if (id !== undefined && (await killer.client("KILL", "ID", id)) === 1) kills++;
      }
    })();
    // Paced by the killer: after the k-th chunk at least min(k + 1, 3) kills must have landed (bounded
    // wait), so the kills fall during the ingest however fast this machine runs it.
    await ingest(bus, total, 5_000, async (k) => {
      for (const until = Date.now() + 3_000; kills < Math.min(k + 1, 3) && Date.now() < until; ) await sleep(5);
    });
    ingesting = false;
    await killing;
    expect(kills).toBeGreaterThanOrEqual(3);
    expect(bus.stats().dispatched).toBe(total);
    expect(bus.stats().dropped).toBe(0);
    await expectExactlyOnce(adapter, total);
  });

  it("replies lost after the server applied them, ten times during a bus run", async () => {
    const port = new URL(url).port === "" ? 6379 : Number(new URL(url).port);
    const cutter = await startReplyCutter(port);
    const prefix = uniquePrefix("cut");
    const adapter = new RedisAdapter({ url: `redis://127.0.0.1:${cutter.port}`, prefix });
    const cleaner = new Redis(url);
    cleanups.push(async () => {
      await cutter.close();
      await deleteKeys(cleaner, prefix);
      cleaner.disconnect();
    });
    const bus = await patientBus(adapter);
    const total = 20_000;
    await ingest(bus, total, 1_000, async (k) => {
      if (k < 10) cutter.cutNext();
      await sleep(5);
    });
    expect(cutter.cuts).toBe(10);
    expect(bus.stats().dispatched).toBe(total);
    expect(bus.stats().dropped).toBe(0);
    await expectExactlyOnce(adapter, total);
  });
});
