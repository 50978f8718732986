import { runAdapterConformance } from "@netmesh/adapter-testkit";
import { JetStreamAdapter } from "../src/index.js";
import { NATS_URL, deleteStreams, uniquePrefix } from "./support/nats.js";

// One prefix per run; each case adds its own namespace, so cases and runs never see each other's streams.
const run = uniquePrefix("conf");

runAdapterConformance({
  name: "jetstream",
  create: ({ namespace }) => new JetStreamAdapter({ url: NATS_URL, prefix: `${run}-${namespace}` }),
  // NATS's default max_payload is 1 MiB for headers and payload together; the adapter keeps 128 bytes
  // of it for its headers, and refuses bigger events with a SerializationError.
  features: { maxEventBytes: 1_048_576 - 128 },
  reset: async ({ namespace }) => {
    await deleteStreams(`${run}-${namespace}`);
  },
  timeoutMs: 60_000,
});
