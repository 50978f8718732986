import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import {
  type NatsCluster as Cluster,
  startNatsCluster as startCluster,
} from "@netmesh/test-backends/nats-cluster";

// This package's 3-node cluster: the shared helper of @netmesh/test-backends, with nats.js and a client
// that reconnects for ever (the failover tests kill the leader under it).

export type { ClusterNode } from "@netmesh/test-backends/nats-cluster";
/** A 3-node nats-server cluster with JetStream (see `@netmesh/test-backends/nats-cluster`). */
export type NatsCluster = Cluster<NatsConnection>;

/** Starts the three nodes and waits until JetStream answers. */
export function startNatsCluster(): Promise<NatsCluster> {
  return startCluster<NatsConnection>({
    client: {
      connect: (servers) =>
        connect({ servers, timeout: 5_000, maxReconnectAttempts: -1, reconnectTimeWait: 100 }),
      jetstreamManager: (nc, options) => jetstreamManager(nc, options),
    },
  });
}
