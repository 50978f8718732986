import { DeleteStreamCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { type FaultProxy, createFaultProxy, runAdapterConformance } from "@netmesh/adapter-testkit";
import { inject } from "vitest";
import { KinesisAdapter } from "../src/index.js";
import { REGION, TEST_CREDENTIALS, rawClient } from "./support/helpers.js";

const endpoint = inject("kinesisEndpoint");
// One run tag per process: the testkit's namespace is unique per case, the tag keeps runs apart.
const run = `conf-${process.pid}-${Date.now().toString(36)}`;
let proxy: FaultProxy | undefined;
let admin: KinesisClient | undefined;

// Capabilities come from the adapter: read-side dedup, persistent, ordered, streaming reads, events up
// to the stream's record limit less 35 bytes. Every adapter goes through a TCP proxy that can lose a
// reply after kinesalite applied the request (faults.lost-reply); kinesalite keeps no data across a
// restart, so the restart case is not offered.
runAdapterConformance({
  name: "kinesis",
  create: ({ namespace }) =>
    new KinesisAdapter({
      streamName: `${run}-${namespace}`,
      endpoint: `http://127.0.0.1:${proxy!.port}`,
      region: REGION,
      credentials: TEST_CREDENTIALS,
    }),
  setup: async () => {
    proxy = await createFaultProxy({ targetPort: Number(new URL(endpoint).port) });
    admin = rawClient(endpoint);
  },
  reset: async ({ namespace }) => {
    await admin!.send(new DeleteStreamCommand({ StreamName: `${run}-${namespace}` })).catch(() => {});
  },
  teardown: async () => {
    admin?.destroy();
    await proxy?.close();
  },
  faults: { loseNextReply: () => proxy!.loseNextReply() },
});
