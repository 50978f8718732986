import type { Server } from "node:http";
import { createRequire } from "node:module";
import { freePort } from "@netmesh/test-backends";
import { type Backend, type BackendOptions, newRunId, once } from "./backend.js";

/** kinesalite's factory (the package ships no types). */
type Kinesalite = (options: {
  createStreamMs?: number;
  deleteStreamMs?: number;
  updateStreamMs?: number;
}) => Server;

/** Credentials kinesalite accepts (it checks none); used only with the playground's own kinesalite. */
const LOCAL_CREDENTIALS = Object.freeze({
  accessKeyId: "AKIDPLAYGROUND",
  secretAccessKey: "playground-local",
});
const LOCAL_REGION = "us-east-1";

/** Starts kinesalite (an in-memory Kinesis, an npm package) in this process on a free loopback port. */
async function startKinesalite(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const kinesalite = createRequire(import.meta.url)("kinesalite") as Kinesalite;
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** The smallest power of two ≥ n: every bus shard then gets a Kinesis shard of its own. */
function powerOfTwoAtLeast(n: number): number {
  let power = 1;
  while (power < n) power *= 2;
  return power;
}

/**
 * `@netmesh/adapter-kinesis` (imported by package name). Without `--url` the playground runs its own
 * kinesalite on a free loopback port; with `--url` it talks to that endpoint with the SDK's usual
 * credentials and region (`AWS_REGION`, or `--adapter-option region=…`). One stream per run, deleted at
 * the end.
 */
export async function openKinesis(options: BackendOptions, shards: number): Promise<Backend> {
  const [{ KinesisAdapter }, { DeleteStreamCommand, KinesisClient }, { NodeHttpHandler }] = await Promise.all(
    [
      import("@netmesh/adapter-kinesis"),
      import("@aws-sdk/client-kinesis"),
      import("@smithy/node-http-handler"),
    ],
  );
  const local = options.url === undefined ? await startKinesalite() : undefined;
  const endpoint = local?.endpoint ?? options.url!;
  const streamName = `playground-${options.runId ?? newRunId()}`;
  const access = local === undefined ? {} : { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const extra = options.adapterOptions ?? {};
  const settings = { shardCount: powerOfTwoAtLeast(shards), ...access, ...extra, endpoint, streamName };
  return {
    name: "kinesis",
    description: `${endpoint}${local === undefined ? "" : " (own kinesalite)"}, stream ${streamName}`,
    readable: true,
    server: undefined,
    watchReplication: undefined,
    createAdapter: () => new KinesisAdapter(settings),
    cleanup: once(async () => {
      const client = new KinesisClient({
        endpoint,
        ...(local === undefined ? {} : { region: LOCAL_REGION, credentials: { ...LOCAL_CREDENTIALS } }),
        ...(typeof extra.region === "string" ? { region: extra.region } : {}),
        requestHandler: new NodeHttpHandler({ requestTimeout: 10_000, throwOnRequestTimeout: true }),
      });
      try {
        await client.send(new DeleteStreamCommand({ StreamName: streamName, EnforceConsumerDeletion: true }));
        return `deleted stream ${streamName}${local === undefined ? "" : " and stopped the own kinesalite"}`;
      } finally {
        client.destroy();
        await local?.close();
      }
    }),
  };
}
