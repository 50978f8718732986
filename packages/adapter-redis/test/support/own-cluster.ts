import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { sleep } from "./helpers.js";
import { type OwnRedis, startOwnRedis } from "./own-redis.js";

const run = promisify(execFile);

/** A real Redis Cluster of `size` masters (no replicas) on free loopback ports. */
export interface OwnCluster {
  readonly nodes: readonly OwnRedis[];
  /** Stops every node and removes their files. */
  stop(): Promise<void>;
}

/** Starts `size` cluster-enabled servers and joins them with `redis-cli --cluster create`. */
export async function startOwnCluster(size = 3): Promise<OwnCluster> {
  const nodes: OwnRedis[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(await startOwnRedis(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]));
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-yes"], { timeout: 30_000 });
    // Every node must agree the cluster is up before clients can rely on its slot map.
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      const client = new Redis(node.url());
      try {
        while (!(await client.cluster("INFO")).includes("cluster_state:ok")) {
          if (Date.now() > deadline)
            throw new Error(`cluster node ${node.port} did not reach cluster_state:ok`);
          await sleep(100);
        }
      } finally {
        client.disconnect();
      }
    }
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
