import { type Logger, silentLogger } from "@netmesh/core/adapter";
import { Redis, type RedisOptions } from "ioredis";
import { afterAll, afterEach, beforeAll, inject } from "vitest";
import { RedisAdapter, type RedisAdapterSettings } from "../../src/index.js";
import { deleteKeys, uniquePrefix } from "./helpers.js";

/** Settings of a test adapter: anything but the prefix, and optionally another server's URL and client options. */
export type AdapterSettings = Omit<RedisAdapterSettings, "prefix"> & {
  readonly url?: string;
  readonly redisOptions?: RedisOptions;
};

/**
 * Adapters against the shared test Redis, each under its own key prefix: registers the hooks that shut
 * them down and delete their keys after every test. Call at the top of a test file.
 */
export function useAdapters(tag: string) {
  const url = inject("redisUrl");
  const prefixes: string[] = [];
  const adapters: RedisAdapter[] = [];
  let redis: Redis | undefined;
  beforeAll(() => {
    redis = new Redis(url);
  });
  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((adapter) => adapter.shutdown()));
    for (const prefix of prefixes.splice(0)) await deleteKeys(redis!, prefix);
  });
  afterAll(() => redis?.disconnect());
  return {
    /** A direct connection for inspecting keys. */
    redis: () => redis!,
    /** An initialised adapter under a fresh prefix (on the shared Redis unless `url` says otherwise). */
    async ready(settings: AdapterSettings = {}, logger: Logger = silentLogger) {
      const prefix = uniquePrefix(tag);
      prefixes.push(prefix);
      const adapter = new RedisAdapter({ url, prefix, ...settings });
      adapters.push(adapter);
      await adapter.init({ logger });
      return { adapter, prefix };
    },
  };
}
