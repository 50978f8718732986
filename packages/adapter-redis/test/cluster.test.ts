import { TestProducer, runAdapterConformance } from "@netmesh/adapter-testkit";
import { TransientError, silentLogger } from "@netmesh/core/adapter";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisAdapter, dedupKey, streamKey } from "../src/index.js";
import { type OwnCluster, startOwnCluster } from "./support/own-cluster.js";

// A real three-master Redis Cluster: the adapter over an ioredis Cluster client, and the key layout.
let cluster: OwnCluster | undefined;
const clusterClients: Cluster[] = [];

function clusterClient(): Cluster {
  if (cluster === undefined) throw new Error("the cluster is not up");
  const client = new Cluster(cluster.nodes.map((node) => ({ host: "127.0.0.1", port: node.port })));
  clusterClients.push(client);
  return client;
}

const ready = async () => {
  cluster ??= await startOwnCluster(3);
};
const done = async () => {
  for (const client of clusterClients.splice(0)) client.disconnect();
  await cluster?.stop();
  cluster = undefined;
};

// The whole conformance suite over the cluster client; namespaces differ per case, so no reset needed.
runAdapterConformance({
  name: "redis over a 3-master Redis Cluster",
  create: ({ namespace }) => new RedisAdapter({ client: clusterClient(), prefix: namespace }),
  setup: ready,
  timeoutMs: 60_000,
});

// After both the suite above and the tests below.
afterAll(done);

describe("Redis Cluster", () => {
  beforeAll(ready, 60_000);

  it("puts a shard's stream and every producer's mark in one slot, and shards on different slots", async () => {
    const node = new Redis(cluster!.nodes[0]!.url());
    try {
      const slots = new Set<number>();
      for (const prefix of ["netmesh", "a-b.c", "app:v2", "ünï ☃"]) {
        for (const shard of [0, 1, 2, 3, 255, 65534]) {
          const stream = streamKey(prefix, shard);
          const slot = (await node.cluster("KEYSLOT", stream)) as number;
          slots.add(slot);
          for (const producer of ["9f86d081884c7d65", "0000000000000001"]) {
            expect(await node.cluster("KEYSLOT", dedupKey(prefix, shard, producer))).toBe(slot);
          }
        }
      }
      expect(slots.size).toBeGreaterThan(16); // 24 streams spread over many slots
    } finally {
      node.disconnect();
    }
  });

  it("spreads shards over the masters and stores each shard's entries on the node owning its slot", async () => {
    const client = clusterClient();
    const adapter = new RedisAdapter({ client, prefix: "spread" });
    await adapter.init({ logger: silentLogger });
    const producer = new TestProducer();
    for (let shard = 0; shard < 12; shard++) {
      await adapter.onBatch(producer.batch(shard, [`{"shard":${shard}}`]), new AbortController().signal);
    }
    const holders = new Set<number>();
    for (const node of cluster!.nodes) {
      const direct = new Redis(node.url());
      try {
        for (let shard = 0; shard < 12; shard++) {
          if ((await direct.exists(streamKey("spread", shard)).catch(() => 0)) === 1) holders.add(node.port);
        }
      } finally {
        direct.disconnect();
      }
    }
    expect(holders.size).toBe(3);
    await adapter.shutdown();
  });

  it("a plain (non-cluster) client on the wrong node gets MOVED → transient", async () => {
    const nodes = cluster!.nodes;
    // Writes every shard through a plain client to one node until one shard's slot lives elsewhere.
    const adapter = new RedisAdapter({ url: nodes[0]!.url(), prefix: "moved" });
    try {
      await adapter.init({ logger: silentLogger });
      let failure: unknown;
      for (let shard = 0; shard < 32 && failure === undefined; shard++) {
        failure = await adapter
          .onBatch(new TestProducer().batch(shard, ['{"x":1}']), new AbortController().signal)
          .then(
            () => undefined,
            (error: unknown) => error,
          );
      }
      expect(failure).toBeInstanceOf(TransientError);
      expect((failure as Error).message).toMatch(/MOVED \d+ 127\.0\.0\.1:\d+/);
    } finally {
      await adapter.shutdown();
    }
  });
});
