import { setTimeout as sleep } from "node:timers/promises";
import { redactUrl } from "@netmesh/core";
import {
  type Backend,
  type BackendOptions,
  type ReplicationView,
  type ReplicationWatch,
  newRunId,
  once,
} from "./backend.js";
import { type LocalServer, startLocalRedis } from "./local-server.js";

/** The shared local Redis, as the repository's test set-up runs it. */
export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** Escapes the glob characters of SCAN MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/**
 * `@netmesh/adapter-redis` (imported by package name, as a user would). Every key of the run starts
 * with `{<prefix>:` (streams, dedup marks, consumer-group leases), so cleanup deletes exactly those.
 */
export async function openRedis(options: BackendOptions): Promise<Backend> {
  const [{ RedisAdapter }, { Redis }] = await Promise.all([
    import("@netmesh/adapter-redis"),
    import("ioredis"),
  ]);
  let server: LocalServer | undefined;
  let replica: LocalServer | undefined;
  if (options.ownServer === true || options.replica === true) server = await startLocalRedis();
  if (options.replica === true && server !== undefined) {
    try {
      replica = await startLocalRedis(server);
      await waitForReplicaLink(replica.url, Redis);
    } catch (error) {
      await replica?.dispose();
      await server.dispose();
      throw error;
    }
  }
  const url = server?.url ?? options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const prefix = `playground-${options.runId ?? newRunId()}`;
  const extra = options.adapterOptions ?? {};
  return {
    name: "redis",
    description:
      `${redactUrl(url)}${server === undefined ? "" : " (own redis-server)"}` +
      `${replica === undefined ? "" : ` with a replica at ${replica.url}`}, key prefix {${prefix}:…}`,
    readable: true,
    server,
    watchReplication:
      replica === undefined ? undefined : (shards) => watchRedisReplication(url, replica, prefix, shards),
    createAdapter: () => new RedisAdapter({ ...extra, url, prefix }),
    cleanup: once(async () => {
      try {
        if (server !== undefined) {
          return `stopped the own redis-server at ${url}${replica === undefined ? "" : " and its replica"}`;
        }
        const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5_000 });
        try {
          await client.connect();
          let cursor = "0";
          let deleted = 0;
          do {
            const [next, keys] = await client.scan(
              cursor,
              "MATCH",
              `{${globEscape(prefix)}:*`,
              "COUNT",
              1000,
            );
            if (keys.length > 0) deleted += await client.unlink(...keys);
            cursor = next;
          } while (cursor !== "0");
          return `deleted ${deleted} keys {${prefix}:…}`;
        } finally {
          client.disconnect();
        }
      } finally {
        await replica?.dispose();
        await server?.dispose();
      }
    }),
  };
}

/** Longest wait for a new replica's first sync. */
const REPLICA_SYNC_TIMEOUT_MS = 15_000;

/** Waits until the replica has synced with its master (`master_link_status:up`), bounded. */
async function waitForReplicaLink(url: string, RedisClient: typeof import("ioredis").Redis): Promise<void> {
  const client = new RedisClient(url, { maxRetriesPerRequest: 1 });
  try {
    const deadline = performance.now() + REPLICA_SYNC_TIMEOUT_MS;
    while (!(await client.info("replication")).includes("master_link_status:up")) {
      if (performance.now() > deadline) {
        throw new Error(
          `the replica at ${url} did not sync with its master within ${REPLICA_SYNC_TIMEOUT_MS} ms`,
        );
      }
      await sleep(50);
    }
  } finally {
    client.disconnect();
  }
}

/** How often the replication probe asks the servers. */
const PROBE_INTERVAL_MS = 250;
/** How often a Redis replica acknowledges its offset to the master. */
const REPLICA_ACK_PERIOD_MS = 1_000;

/**
 * `@netmesh/replication-metrics`' Redis probe over the playground's master and replica: `INFO
 * replication` on both every {@link PROBE_INTERVAL_MS}, one channel per shard stream.
 */
function watchRedisReplication(
  masterUrl: string,
  replica: LocalServer,
  prefix: string,
  shards: number,
): ReplicationWatch {
  let stopped: Promise<void> | undefined;
  const started = (async () => {
    const [{ RedisReplicationProbe, ReplicationMetricsRegistry }, { Redis }] = await Promise.all([
      import("@netmesh/replication-metrics"),
      import("ioredis"),
    ]);
    const registry = new ReplicationMetricsRegistry();
    const master = new Redis(masterUrl, { maxRetriesPerRequest: 1 });
    const { hostname, port } = new URL(replica.url);
    const probe = new RedisReplicationProbe({
      registry,
      master,
      replicas: [{ host: hostname, port: Number(port) }],
      prefix,
      shards,
      intervalMs: PROBE_INTERVAL_MS,
    }).start();
    return { registry, master, probe };
  })();
  let view: ReplicationView = { replicaLagMs: null, maxReplicaLagMs: null, syncBytes: 0, channels: 0 };
  const refresh = setInterval(() => {
    started.then(
      ({ registry }) => {
        const rows = registry.snapshot().channels;
        const lags = rows
          .map((row) => row.replicaLagSeconds)
          .filter((lag): lag is number => lag !== undefined);
        const lag = lags.length === 0 ? null : Math.max(...lags) * 1000;
        view = {
          replicaLagMs: lag,
          maxReplicaLagMs: lag === null ? view.maxReplicaLagMs : Math.max(lag, view.maxReplicaLagMs ?? 0),
          syncBytes: rows.reduce((sum, row) => sum + Number(row.syncBytesTotal), 0),
          channels: rows.length,
        };
      },
      () => {},
    );
  }, PROBE_INTERVAL_MS);
  refresh.unref();
  return {
    view: () => view,
    async settled() {
      await sleep(REPLICA_ACK_PERIOD_MS + 2 * PROBE_INTERVAL_MS);
      return view;
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(refresh);
        const running = await started.catch(() => undefined);
        await running?.probe.stop();
        running?.master.disconnect();
      })();
      return stopped;
    },
  };
}
