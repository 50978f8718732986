import { type FaultProxy, createFaultProxy, runAdapterConformance } from "@netmesh/adapter-testkit";
import { type PrivateServer, startNats } from "@netmesh/test-backends";
import { JetStreamAdapter } from "../src/index.js";

// The whole suite again, against a nats-server of this file's own (JetStream, file storage, a free
// loopback port) reached through the testkit's fault proxy, so the fault cases run: a lost reply (the
// proxy drops the server's next bytes and cuts that connection) and a restart (SIGKILL, then the same
// server on the same port and store directory, resolved once it accepts connections again).
let server: PrivateServer | undefined;
let proxy: FaultProxy | undefined;

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not started (the suite's setup failed)`);
  return value;
}

runAdapterConformance({
  name: "jetstream (own server behind a fault proxy)",
  setup: async () => {
    server = await startNats();
    proxy = await createFaultProxy({ targetPort: server.port });
  },
  teardown: async () => {
    // faults.lost-reply armed the proxy once: the reply it dropped was one the adapter waited for.
    if (proxy !== undefined && proxy.lostReplies !== 1) {
      throw new Error(`the fault proxy lost ${proxy.lostReplies} replies, expected 1`);
    }
    await proxy?.close();
    await server?.stop();
  },
  create: ({ namespace }) =>
    new JetStreamAdapter({
      url: `nats://127.0.0.1:${started(proxy, "the fault proxy").port}`,
      prefix: namespace,
    }),
  faults: {
    restartBackend: () => started(server, "the nats-server").restart(),
    loseNextReply: () => started(proxy, "the fault proxy").loseNextReply(),
  },
  timeoutMs: 60_000,
});
