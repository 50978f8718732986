import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { describeGroupAcceptance } from "@netmesh/adapter-testkit";
import { afterAll } from "vitest";
import { NATS_URL, deleteStreams, uniquePrefix, withConnection } from "./support/nats.js";

// The consumer-group acceptance run on JetStream, with real processes (see the testkit's
// `runGroupAcceptance`). Events per producer process: NETMESH_ACCEPTANCE_EVENTS, 25,000 by default
// (the acceptance figure is 250,000: 1 M in all).
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) {
    await deleteStreams(prefix);
    await withConnection(NATS_URL, async (nc) => {
      await (await jetstreamManager(nc)).streams.delete(`KV_${prefix}_groups`).catch(() => false);
    });
  }
});

describeGroupAcceptance({
  name: "JetStream",
  script: fileURLToPath(new URL("./support/acceptance-child.ts", import.meta.url)),
  execArgv: ["--import", "tsx"],
  namespace: (tag) => {
    const prefix = uniquePrefix(tag);
    prefixes.push(prefix);
    return prefix;
  },
});
