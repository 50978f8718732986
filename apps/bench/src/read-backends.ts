/**
 * The backends the read benchmark runs against: how to make an adapter under a fresh prefix, the
 * hand-written readers to compare with, a reachability probe, and the clean-up of a prefix's streams.
 * Loopback servers only: REDIS_URL / NATS_URL may move the port, never the host.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { JetStreamAdapter } from "@netmesh/adapter-jetstream";
import { RedisAdapter } from "@netmesh/adapter-redis";
import { type Adapter, MemoryAdapter } from "@netmesh/core";
import { Redis } from "ioredis";
import {
  type Baseline,
  jetStreamBaseline,
  jetStreamFetchBaseline,
  memoryPollShardBaseline,
  memoryStoreBaseline,
  redisBaseline,
} from "./read-baselines.js";

/** One backend of the benchmark. */
export interface Backend {
  readonly name: "memory" | "redis" | "jetstream";
  /** The server, for the output ("in-process" for memory). */
  readonly where: string;
  /** A new adapter whose streams/keys all start with `prefix`. */
  makeAdapter(prefix: string): Adapter;
  /** The raw baseline first (the ratios' denominator), then any shown for information. */
  readonly baselines: readonly Baseline[];
  /** Throws a readable error when the server does not answer. */
  probe(): Promise<void>;
  /**
   * The CPU time the server process has used so far, ms (user + system), where the backend reports
   * it: the whole server's, so another client's load on a shared server counts too.
   */
  serverCpuMs?(): Promise<number>;
  /** Deletes everything stored under `prefix`. */
  cleanup(prefix: string): Promise<void>;
}

function loopback(name: string, fallback: string): string {
  const url = process.env[name] ?? fallback;
  if (!/^[a-z]+:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/?$/.test(url)) {
    throw new Error(`${name} must point at a loopback server (got ${url})`);
  }
  return url;
}

function memoryBackend(): Backend {
  return {
    name: "memory",
    where: "in-process",
    makeAdapter: () => new MemoryAdapter(),
    baselines: [memoryStoreBaseline(), memoryPollShardBaseline()],
    probe: async () => {},
    cleanup: async () => {}, // the store goes with its adapter
  };
}

/** Deletes the keys matching a SCAN glob, in bounded batches. */
async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  for (let rounds = 0; rounds < 100_000; rounds++) {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
    if (cursor === "0") return;
  }
}

function redisBackend(): Backend {
  const url = loopback("REDIS_URL", "redis://127.0.0.1:6379");
  const withClient = async (work: (redis: Redis) => Promise<void>) => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
    redis.on("error", () => {}); // reported by the awaited command instead
    try {
      await redis.connect();
      await work(redis);
    } finally {
      redis.disconnect();
    }
  };
  return {
    name: "redis",
    where: url,
    makeAdapter: (prefix) => new RedisAdapter({ url, prefix }),
    baselines: [redisBaseline(url)],
    probe: () => withClient(async (redis) => void (await redis.ping())),
    serverCpuMs: async () => {
      let used = Number.NaN;
      await withClient(async (redis) => {
        const info = await redis.info("cpu");
        const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1]);
        used = (field("used_cpu_user") + field("used_cpu_sys")) * 1000;
      });
      if (!Number.isFinite(used)) throw new Error("INFO cpu has no used_cpu_user/used_cpu_sys");
      return used;
    },
    // Streams `{prefix:shard:<id>}` and their dedup marks `{prefix:shard:<id>}:dedup:<producer>`.
    cleanup: (prefix) => withClient((redis) => deleteKeys(redis, `{${prefix}:*`)),
  };
}

function jetStreamBackend(): Backend {
  const url = loopback("NATS_URL", "nats://127.0.0.1:4222");
  const withManager = async (
    work: (names: string[], remove: (name: string) => Promise<void>) => Promise<void>,
  ) => {
    const nc = await connect({ servers: url, timeout: 2_000, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const name of jsm.streams.names()) names.push(name);
      await work(names, async (name) => void (await jsm.streams.delete(name)));
    } finally {
      await nc.close();
    }
  };
  return {
    name: "jetstream",
    where: url,
    makeAdapter: (prefix) => new JetStreamAdapter({ url, prefix }),
    baselines: [jetStreamBaseline(url), jetStreamFetchBaseline(url)],
    probe: () => withManager(async () => {}),
    // Streams `<prefix>_shard_<id>` (their consumers go with them).
    cleanup: (prefix) =>
      withManager(async (names, remove) => {
        for (const name of names) if (name.startsWith(`${prefix}_shard_`)) await remove(name);
      }),
  };
}

/** The backends named by BENCH_READ_BACKENDS (default all three, in this order). */
export function selectedBackends(): Backend[] {
  const all = { memory: memoryBackend, redis: redisBackend, jetstream: jetStreamBackend };
  const names = (process.env.BENCH_READ_BACKENDS ?? "memory,redis,jetstream").split(",").map((n) => n.trim());
  return names.map((name) => {
    const make = all[name as keyof typeof all];
    if (make === undefined) throw new Error(`BENCH_READ_BACKENDS: unknown backend ${name}`);
    return make();
  });
}
