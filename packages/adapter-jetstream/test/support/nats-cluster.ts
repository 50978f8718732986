import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import {
  type NatsCluster as Cluster,
  startNatsCluster as startCluster,
} from "@netmesh/test-backends/nats-cluster";

// This package's 3-node cluster: the shared helper of @netmesh/test-backends, with nats.js, placement
// tags, and a client that tries the nodes in order.

export type { ClusterNode } from "@netmesh/test-backends/nats-cluster";
/** A 3-node nats-server cluster with JetStream (see `@netmesh/test-backends/nats-cluster`). */
export type NatsCluster = Cluster<NatsConnection>;

/**
 * Placement tags of the nodes: a stream created with `placement: { tags: ["far"] }` lives on n2 and n3
 * only, so a client connected to n1 reaches its replicas through routes.
 */
export const NODE_TAGS: Readonly<Record<string, readonly string[]>> = {
  n1: ["near"],
  n2: ["far"],
  n3: ["far"],
};

/** Starts the three nodes and waits until JetStream answers. */
export function startNatsCluster(): Promise<NatsCluster> {
  return startCluster<NatsConnection>({
    clusterName: "netmesh-js-test",
    tags: NODE_TAGS,
    client: {
      connect: (servers) => connect({ servers, timeout: 5_000, noRandomize: true }),
      jetstreamManager: (nc, options) => jetstreamManager(nc, options),
    },
  });
}
