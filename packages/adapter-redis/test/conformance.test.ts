import { type FaultProxy, createFaultProxy, runAdapterConformance } from "@netmesh/adapter-testkit";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, keysOf } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

const url = inject("redisUrl");
// One prefix per run and case: the testkit's namespace is unique per case, the run tag per process.
const run = `conf-${process.pid}-${Date.now().toString(36)}`;
let cleaner: Redis | undefined;

// The full contract from the adapter's capabilities: readable, dedup, persistent, ordered, streaming,
// listing shards; 1 MiB events so the suite writes the size boundary.
runAdapterConformance({
  name: "redis",
  create: ({ namespace }) =>
    new RedisAdapter({ url, prefix: `${run}-${namespace}`, maxEventBytes: 1_048_576 }),
  setup: () => {
    cleaner = new Redis(url);
  },
  reset: async ({ namespace }) => {
    const prefix = `${run}-${namespace}`;
    await deleteKeys(cleaner!, prefix);
    const left = await keysOf(cleaner!, prefix);
    if (left.length > 0) throw new Error(`keys left after clean-up: ${left.join(", ")}`);
  },
  teardown: () => {
    cleaner?.disconnect();
  },
});

// The read script's path (what a Cluster, Sentinel or TLS client reads with) against the same contract.
runAdapterConformance({
  name: "redis, read script",
  create: ({ namespace }) =>
    new RedisAdapter({
      url,
      prefix: `${run}-script-${namespace}`,
      maxEventBytes: 1_048_576,
      directReads: false,
    }),
  setup: () => {
    cleaner = new Redis(url);
  },
  reset: async ({ namespace }) => {
    await deleteKeys(cleaner!, `${run}-script-${namespace}`);
  },
  teardown: () => {
    cleaner?.disconnect();
  },
});

// The same suite against a server of this file's own (AOF, fsync on every write) behind a fault proxy,
// with the fault hooks: a restart mid-stream and a lost reply must lose nothing and double nothing.
let own: OwnRedis | undefined;
let proxy: FaultProxy | undefined;

runAdapterConformance({
  name: "redis, own server behind a fault proxy",
  create: ({ namespace }) =>
    new RedisAdapter({
      url: `redis://127.0.0.1:${proxy!.port}`,
      prefix: namespace,
      maxEventBytes: 1_048_576,
    }),
  setup: async () => {
    own = await startOwnRedis(["--appendonly", "yes", "--appendfsync", "always"]);
    proxy = await createFaultProxy({ targetPort: own.port });
  },
  teardown: async () => {
    await proxy?.close();
    await own?.stop();
  },
  faults: {
    restartBackend: () => own!.restart(),
    loseNextReply: () => proxy!.loseNextReply(),
  },
});
