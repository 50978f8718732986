import type { Backend, BackendOptions } from "./backend.js";
import { openMemory } from "./memory.js";

/**
 * Opens the backend of `--adapter`. The adapter packages are loaded on demand with `import()` by
 * package name, so a memory run loads none of them (nor ioredis, nats.js or the AWS SDK).
 */
export async function openBackend(options: BackendOptions, shards: number): Promise<Backend> {
  switch (options.adapter) {
    case "memory":
      return openMemory();
    case "noop":
      return (await import("./noop.js")).openNoop();
    case "redis":
      return (await import("./redis.js")).openRedis(options);
    case "jetstream":
      return (await import("./jetstream.js")).openJetStream(options);
    case "kinesis":
      return (await import("./kinesis.js")).openKinesis(options, shards);
  }
}
