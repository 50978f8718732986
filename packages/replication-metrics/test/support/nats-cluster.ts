import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { freePort } from "@netmesh/test-backends";
import { ServerProcess, binaryPath } from "./server-process.js";

/** One node of the test cluster. */
export interface ClusterNode {
  /** The server name (`n1`, `n2`, `n3`): what stream info reports as leader and replica names. */
  readonly name: string;
  readonly server: ServerProcess;
  readonly url: string;
}

/** A 3-node nats-server cluster with JetStream, routes on loopback, each node its own store directory. */
export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's URL, comma-separated: what a client or the adapter takes to fail over between them. */
  readonly urls: string;
  /** The node called `name`. */
  node(name: string): ClusterNode;
  /** A connection of the test's own to every node (closed by {@link NatsCluster.stop}). */
  connect(): Promise<NatsConnection>;
  /** Resolves once JetStream answers an account-info request (a meta leader is elected). */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /**
   * Resolves with the stream's leader once it has one and every replica is current; `exclude` waits for
   * a leader other than that node (a failover).
   */
  waitForLeader(stream: string, exclude?: string, timeoutMs?: number): Promise<string>;
  /** Kills every node and removes the store directories. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function nodeConfig(name: string, dir: string, port: number, routePort: number, routes: number[]): string {
  return [
    `server_name: ${name}`,
    `listen: "127.0.0.1:${port}"`,
    `jetstream { store_dir: ${JSON.stringify(join(dir, name))} }`,
    "cluster {",
    "  name: netmesh-test",
    `  listen: "127.0.0.1:${routePort}"`,
    `  routes: [${routes.map((p) => `"nats-route://127.0.0.1:${p}"`).join(", ")}]`,
    "}",
    "",
  ].join("\n");
}

/** Starts the three nodes (config files in a temp dir) and waits until JetStream answers. */
export async function startNatsCluster(): Promise<NatsCluster> {
  const binary = binaryPath("nats-server", "nats-server");
  const dir = mkdtempSync(join(tmpdir(), "netmesh-repl-nats-"));
  const names = ["n1", "n2", "n3"];
  const ports: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < names.length; i++) {
    ports.push(await freePort());
    routePorts.push(await freePort());
  }
  const nodes: ClusterNode[] = names.map((name, i) => {
    const config = join(dir, `${name}.conf`);
    const routes = routePorts.filter((_, j) => j !== i);
    writeFileSync(config, nodeConfig(name, dir, ports[i]!, routePorts[i]!, routes));
    return {
      name,
      server: new ServerProcess(`nats-server ${name}`, binary, ["-c", config], ports[i]!),
      url: `nats://127.0.0.1:${ports[i]}`,
    };
  });
  const connections: NatsConnection[] = [];
  let manager: JetStreamManager | undefined;
  const urls = nodes.map((n) => n.url).join(",");

  const cluster: NatsCluster = {
    nodes,
    urls,
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (found === undefined) throw new Error(`no node ${name}`);
      return found;
    },
    async connect() {
      const nc = await connect({
        servers: nodes.map((n) => n.url),
        timeout: 5_000,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 100,
      });
      connections.push(nc);
      return nc;
    },
    async waitForJetStream(timeoutMs = 20_000) {
      manager ??= await jetstreamManager(await cluster.connect(), { timeout: 1_000, checkAPI: false });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await manager.getAccountInfo();
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
    },
    async waitForLeader(stream, exclude, timeoutMs = 20_000) {
      manager ??= await jetstreamManager(await cluster.connect(), { timeout: 1_000, checkAPI: false });
      const deadline = Date.now() + timeoutMs;
      let last = "no answer yet";
      while (Date.now() < deadline) {
        try {
          const info = await manager.streams.info(stream);
          const leader = info.cluster?.leader;
          const replicas = info.cluster?.replicas ?? [];
          last = `leader ${String(leader)}, replicas ${JSON.stringify(replicas)}`;
          if (leader !== undefined && leader !== exclude && replicas.every((r) => r.current && !r.offline)) {
            return leader;
          }
        } catch (error) {
          last = String(error);
        }
        await sleep(100);
      }
      throw new Error(
        `stream ${stream} has no settled leader${exclude ? ` other than ${exclude}` : ""}: ${last}`,
      );
    },
    async stop() {
      await Promise.all(connections.splice(0).map((nc) => nc.close().catch(() => {})));
      await Promise.all(nodes.map((n) => n.server.kill()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.server.start()));
    await cluster.waitForJetStream();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
