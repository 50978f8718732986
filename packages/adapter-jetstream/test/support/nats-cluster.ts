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

/**
 * Starts the three nodes and waits until JetStream answers and a stream of 3 replicas can be placed.
 * JetStream answers once a meta leader is elected, which can be before it knows all three peers: an
 * R3 stream is then refused ("no suitable peers for placement") for a moment, which failed every
 * conformance case of one CI run. Only here, at start: a probe after a node's restart (the shared
 * helper's `waitForJetStream`) would race the restart tests' own streams.
 */
export async function startNatsCluster(): Promise<NatsCluster> {
  const cluster = await startCluster<NatsConnection>({
    clusterName: "netmesh-js-test",
    tags: NODE_TAGS,
    client: {
      connect: (servers) => connect({ servers, timeout: 5_000, noRandomize: true }),
      jetstreamManager: (nc, options) => jetstreamManager(nc, options),
    },
  });
  await untilR3Placeable(cluster, 30_000);
  return cluster;
}

async function untilR3Placeable(cluster: NatsCluster, timeoutMs: number): Promise<void> {
  const nc = await cluster.connect();
  const jsm = await jetstreamManager(nc, { timeout: 2_000 });
  const probe = `netmesh_placement_probe_${process.pid}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await jsm.streams.add({ name: probe, subjects: [`${probe}.x`], num_replicas: 3 });
      await jsm.streams.delete(probe);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}
