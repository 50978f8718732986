import { ensureNats, ensureRedis } from "@netmesh/test-backends";

/**
 * The shared Redis and nats-server the adapter runs talk to (started, and installed with apt, when
 * missing). Kinesis runs start their own kinesalite; the outage runs their own servers.
 */
export default async function setup(): Promise<void> {
  if (process.env.REDIS_URL === undefined) await ensureRedis();
  if (process.env.NATS_URL === undefined) await ensureNats();
}
