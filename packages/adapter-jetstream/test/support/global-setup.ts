import { ensureNats } from "@netmesh/test-backends";

/** Starts the shared nats-server (JetStream, 127.0.0.1:4222) unless one runs already. */
export default async function setup(): Promise<void> {
  if (process.env.NATS_URL === undefined) await ensureNats();
}
