import { runAdapterConformance } from "@netmesh/adapter-testkit";
import { JetStreamAdapter } from "../src/index.js";
import { NATS_URL, deleteStreams, uniquePrefix } from "./support/nats.js";

// One prefix per run; each case adds its own namespace, so cases and runs never see each other's streams.
// What the suite checks comes from the adapter's own capabilities (maxEventBytes from the server's
// max_payload, streaming reads, shard listing); the fault cases run in conformance-faults.test.ts.
const run = uniquePrefix("conf");

runAdapterConformance({
  name: "jetstream",
  create: ({ namespace }) => new JetStreamAdapter({ url: NATS_URL, prefix: `${run}-${namespace}` }),
  reset: async ({ namespace }) => {
    await deleteStreams(`${run}-${namespace}`);
  },
  timeoutMs: 60_000,
});
