import type { Cluster, Redis } from "ioredis";

/**
 * The database `client` is on now: the last `SELECT` it sent, else its `db` option. A caller's client
 * may have switched after it was created, and its commands (the adapter's writes among them) go there.
 */
export function selectedDb(client: Redis): number {
  const selected = client.condition?.select;
  if (typeof selected === "number") return selected;
  const { db } = client.options;
  return typeof db === "number" ? db : 0;
}

/**
 * A new connection to where `client` is (same options, credentials and database): for the commands
 * that need a connection of their own (a blocking `XREAD`, a subscription). Its offline queue is on,
 * whatever the client's `enableOfflineQueue` says: it is used right after it is made, before it has
 * connected, and without one it would refuse that first command ("Stream isn't writeable").
 */
export function duplicateOf(client: Redis | Cluster): Redis | Cluster {
  if (client.isCluster) return (client as Cluster).duplicate(undefined, { enableOfflineQueue: true });
  const redis = client as Redis;
  return redis.duplicate({ db: selectedDb(redis), enableOfflineQueue: true });
}
