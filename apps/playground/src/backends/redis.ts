import { redactUrl } from "@netmesh/core";
import { type Backend, type BackendOptions, newRunId, once } from "./backend.js";
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
  if (options.ownServer === true) server = await startLocalRedis();
  const url = server?.url ?? options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const prefix = `playground-${options.runId ?? newRunId()}`;
  const extra = options.adapterOptions ?? {};
  return {
    name: "redis",
    description: `${redactUrl(url)}${server === undefined ? "" : " (own redis-server)"}, key prefix {${prefix}:…}`,
    readable: true,
    server,
    createAdapter: () => new RedisAdapter({ ...extra, url, prefix }),
    cleanup: once(async () => {
      try {
        if (server !== undefined) return `stopped the own redis-server at ${url}`;
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
        await server?.dispose();
      }
    }),
  };
}
