import { redactUrl } from "@netmesh/core";
import { type Backend, type BackendOptions, newRunId, once } from "./backend.js";
import { type LocalServer, startLocalNats } from "./local-server.js";

/** The shared local nats-server with JetStream. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

/**
 * `@netmesh/adapter-jetstream` (imported by package name). The run's streams are
 * `<prefix>_shard_<id>`; cleanup deletes the streams of that prefix and nothing else.
 */
export async function openJetStream(options: BackendOptions): Promise<Backend> {
  const [{ JetStreamAdapter, streamName }, { connect }, { jetstreamManager }] = await Promise.all([
    import("@netmesh/adapter-jetstream"),
    import("@nats-io/transport-node"),
    import("@nats-io/jetstream"),
  ]);
  let server: LocalServer | undefined;
  if (options.ownServer === true) server = await startLocalNats();
  const url = server?.url ?? options.url ?? process.env.NATS_URL ?? DEFAULT_NATS_URL;
  const prefix = `playground_${(options.runId ?? newRunId()).replaceAll("-", "_")}`;
  const extra = options.adapterOptions ?? {};
  const ownStream = `${streamName(prefix, 0).slice(0, -1)}`; // `<prefix>_shard_`
  return {
    name: "jetstream",
    description: `${redactUrl(url)}${server === undefined ? "" : " (own nats-server)"}, streams ${prefix}_shard_<id>`,
    readable: true,
    server,
    watchReplication: undefined,
    createAdapter: () => new JetStreamAdapter({ ...extra, url, prefix }),
    cleanup: once(async () => {
      try {
        if (server !== undefined) return `stopped the own nats-server at ${url}`;
        const connection = await connect({ servers: url, timeout: 5_000 });
        try {
          const manager = await jetstreamManager(connection);
          const names: string[] = [];
          for await (const name of manager.streams.names()) if (name.startsWith(ownStream)) names.push(name);
          for (const name of names) await manager.streams.delete(name);
          return `deleted ${names.length} streams ${prefix}_shard_<id>`;
        } finally {
          await connection.close();
        }
      } finally {
        await server?.dispose();
      }
    }),
  };
}
