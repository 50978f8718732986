import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { ensureBinary, freePort, isListening } from "@netmesh/test-backends";

// A 3-node nats-server cluster for this package's tests, after replication-metrics' test helper (copied,
// not imported: test folders are not shared between packages).

/** Every node process started and not reaped yet: killed when the test process exits, however it exits. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One node: a nats-server process on a loopback port, with its own store directory. */
export interface ClusterNode {
  /** The server name (`n1`, `n2`, `n3`): what stream info reports as leader and replica names. */
  readonly name: string;
  readonly port: number;
  readonly url: string;
}

/** A 3-node nats-server cluster with JetStream, routes on loopback, each node its own store directory. */
export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's URL, comma-separated: what a client or the adapter takes to fail over between them. */
  readonly urls: string;
  /** A connection of the test's own to the first node that answers, in order (closed by {@link NatsCluster.stop}). */
  connect(): Promise<NatsConnection>;
  /** Resolves once JetStream answers an account-info request (a meta leader is elected). */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /**
   * The stream's leader and followers once it has a leader and every replica is current (what a test
   * needs before it stops a follower).
   */
  replicasOf(stream: string, timeoutMs?: number): Promise<{ leader: string; followers: string[] }>;
  /** SIGSTOP of node `name`, resolved once it is stopped: it keeps its sockets and answers nothing. */
  pause(name: string): Promise<void>;
  /** SIGCONT of node `name` after {@link NatsCluster.pause}. */
  resume(name: string): void;
  /** Kills every node and removes the store directories. */
  stop(): Promise<void>;
}

/**
 * Placement tags of the nodes: a stream created with `placement: { tags: ["far"] }` lives on n2 and n3
 * only, so a client connected to n1 reaches its replicas through routes.
 */
export const NODE_TAGS: Readonly<Record<string, readonly string[]>> = {
  n1: ["near"],
  n2: ["far"],
  n3: ["far"],
};

function nodeConfig(name: string, dir: string, port: number, routePort: number, routes: number[]): string {
  return [
    `server_name: ${name}`,
    `server_tags: ${JSON.stringify(NODE_TAGS[name] ?? [])}`,
    `listen: "127.0.0.1:${port}"`,
    `jetstream { store_dir: ${JSON.stringify(join(dir, name))} }`,
    "cluster {",
    "  name: netmesh-js-test",
    `  listen: "127.0.0.1:${routePort}"`,
    `  routes: [${routes.map((p) => `"nats-route://127.0.0.1:${p}"`).join(", ")}]`,
    "}",
    "",
  ].join("\n");
}

async function startNode(
  binary: string,
  config: string,
  port: number,
  name: string,
  children: ChildProcess[],
): Promise<ChildProcess> {
  const child = spawn(binary, ["-c", config], { stdio: "ignore" });
  children.push(child);
  live.add(child);
  child.once("exit", () => live.delete(child));
  const deadline = Date.now() + 10_000;
  while (!(await isListening(port, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server ${name} did not start listening on 127.0.0.1:${port}`);
    }
    await sleep(25);
  }
  return child;
}

/** The state letter of a process in /proc (`T` when stopped), or undefined. */
function processState(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
  } catch {
    return undefined;
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGCONT");
  child.kill("SIGKILL");
  await exited;
}

/** Starts the three nodes (config files in a temp dir) and waits until JetStream answers. */
export async function startNatsCluster(): Promise<NatsCluster> {
  ensureBinary("nats-server", "nats-server");
  const binary = execFileSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).trim();
  const dir = mkdtempSync(join(tmpdir(), "netmesh-js-cluster-"));
  const names = ["n1", "n2", "n3"];
  const ports: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < names.length; i++) {
    ports.push(await freePort());
    routePorts.push(await freePort());
  }
  const nodes: ClusterNode[] = names.map((name, i) => ({
    name,
    port: ports[i]!,
    url: `nats://127.0.0.1:${ports[i]}`,
  }));
  const children: ChildProcess[] = [];
  const byName = new Map<string, ChildProcess>();
  const connections: NatsConnection[] = [];
  let manager: JetStreamManager | undefined;
  const processOf = (name: string): ChildProcess => {
    const child = byName.get(name);
    if (child === undefined) throw new Error(`no node ${name}`);
    return child;
  };

  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    async connect() {
      const nc = await connect({ servers: nodes.map((n) => n.url), timeout: 5_000, noRandomize: true });
      connections.push(nc);
      return nc;
    },
    async waitForJetStream(timeoutMs = 30_000) {
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
    async replicasOf(stream, timeoutMs = 20_000) {
      manager ??= await jetstreamManager(await cluster.connect(), { timeout: 1_000, checkAPI: false });
      const deadline = Date.now() + timeoutMs;
      let last = "no answer yet";
      while (Date.now() < deadline) {
        try {
          const info = await manager.streams.info(stream);
          const leader = info.cluster?.leader;
          const replicas = info.cluster?.replicas ?? [];
          last = `leader ${String(leader)}, replicas ${JSON.stringify(replicas)}`;
          if (leader !== undefined && replicas.length > 0 && replicas.every((r) => r.current && !r.offline)) {
            return { leader, followers: replicas.map((r) => r.name) };
          }
        } catch (error) {
          last = String(error);
        }
        await sleep(100);
      }
      throw new Error(`stream ${stream} has no settled leader: ${last}`);
    },
    async pause(name) {
      const child = processOf(name);
      child.kill("SIGSTOP");
      // The stop is not in force when kill() returns: wait until the kernel says so.
      const deadline = Date.now() + 2_000;
      while (processState(child.pid) !== "T") {
        if (Date.now() > deadline) throw new Error(`nats-server ${name} did not stop on SIGSTOP`);
        await sleep(5);
      }
    },
    resume(name) {
      processOf(name).kill("SIGCONT");
    },
    async stop() {
      await Promise.all(connections.splice(0).map((nc) => nc.close().catch(() => {})));
      await Promise.all(children.splice(0).map(kill));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(
      nodes.map((node, i) => {
        const config = join(dir, `${node.name}.conf`);
        const routes = routePorts.filter((_, j) => j !== i);
        writeFileSync(config, nodeConfig(node.name, dir, node.port, routePorts[i]!, routes));
        return startNode(binary, config, node.port, node.name, children).then((child) => {
          byName.set(node.name, child);
        });
      }),
    );
    await cluster.waitForJetStream();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
