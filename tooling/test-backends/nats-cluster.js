// A 3-node nats-server cluster with JetStream for tests: routes on loopback, free ports, each node its
// own store directory and process (SIGSTOP / SIGCONT / SIGKILL / restart one node). The NATS client
// comes from the caller (this package has no dependencies), as `connect` and `jetstreamManager`.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBinary, freePort, isListening } from "./index.js";

/** Every node process started and not reaped yet: killed when the test process exits, however it exits. */
const live = new Set();
process.once("exit", () => {
  for (const child of live) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The state letter of a process in /proc (`T` when stopped), or undefined. */
function processState(pid) {
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
  } catch {
    return undefined;
  }
}

function nodeConfig({ name, dir, port, routePort, routes, tags, clusterName }) {
  return [
    `server_name: ${name}`,
    ...(tags.length > 0 ? [`server_tags: ${JSON.stringify(tags)}`] : []),
    `listen: "127.0.0.1:${port}"`,
    `jetstream { store_dir: ${JSON.stringify(join(dir, name))} }`,
    "cluster {",
    `  name: ${clusterName}`,
    `  listen: "127.0.0.1:${routePort}"`,
    `  routes: [${routes.map((p) => `"nats-route://127.0.0.1:${p}"`).join(", ")}]`,
    "}",
    "",
  ].join("\n");
}

/** One node's process: start (waits until it listens), pause, resume, kill; start again after a kill. */
function nodeServer(name, binary, config, port) {
  let child;
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    get running() {
      return running();
    },
    async start() {
      if (running()) return;
      const started = spawn(binary, ["-c", config], { stdio: "ignore" });
      live.add(started);
      started.once("exit", () => live.delete(started));
      child = started;
      const deadline = Date.now() + 10_000;
      while (!(await isListening(port, 200))) {
        if (started.exitCode !== null || Date.now() > deadline) {
          started.kill("SIGKILL");
          throw new Error(`nats-server ${name} did not start listening on 127.0.0.1:${port}`);
        }
        await sleep(25);
      }
    },
    async pause() {
      if (!running()) throw new Error(`nats-server ${name} is not running`);
      const pid = child.pid;
      child.kill("SIGSTOP");
      // The stop is not in force when kill() returns: wait until the kernel says so.
      const deadline = Date.now() + 2_000;
      while (processState(pid) !== "T") {
        if (Date.now() > deadline) throw new Error(`nats-server ${name} did not stop on SIGSTOP`);
        await sleep(5);
      }
    },
    resume() {
      child?.kill("SIGCONT");
    },
    async kill() {
      const current = child;
      if (current === undefined || !running()) return;
      const exited = new Promise((resolve) => current.once("exit", resolve));
      current.kill("SIGCONT");
      current.kill("SIGKILL");
      await exited;
      child = undefined;
    },
  };
}

/** Starts the three nodes (config files in a temp dir) and waits until JetStream answers. */
export async function startNatsCluster(options) {
  const { client, tags = {}, clusterName = "netmesh-test" } = options;
  ensureBinary("nats-server", "nats-server");
  const binary = execFileSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).trim();
  const dir = mkdtempSync(join(tmpdir(), "netmesh-nats-cluster-"));
  const names = ["n1", "n2", "n3"];
  const ports = [];
  const routePorts = [];
  for (let i = 0; i < names.length; i++) {
    ports.push(await freePort());
    routePorts.push(await freePort());
  }
  const nodes = names.map((name, i) => {
    const config = join(dir, `${name}.conf`);
    const routes = routePorts.filter((_, j) => j !== i);
    const text = nodeConfig({
      name,
      dir,
      port: ports[i],
      routePort: routePorts[i],
      routes,
      tags: tags[name] ?? [],
      clusterName,
    });
    writeFileSync(config, text);
    return {
      name,
      port: ports[i],
      url: `nats://127.0.0.1:${ports[i]}`,
      server: nodeServer(name, binary, config, ports[i]),
    };
  });
  const connections = [];
  let manager;
  const managed = async () => {
    manager ??= await client.jetstreamManager(await cluster.connect(), { timeout: 1_000, checkAPI: false });
    return manager;
  };
  /** Polls the stream's info until `settled(leader, replicas)` holds; resolves the info's cluster. */
  const settle = async (stream, timeoutMs, settled, what) => {
    const jsm = await managed();
    const deadline = Date.now() + timeoutMs;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      try {
        const info = await jsm.streams.info(stream);
        const leader = info.cluster?.leader;
        const replicas = info.cluster?.replicas ?? [];
        last = `leader ${String(leader)}, replicas ${JSON.stringify(replicas)}`;
        if (leader !== undefined && settled(leader, replicas)) return { leader, replicas };
      } catch (error) {
        last = String(error);
      }
      await sleep(100);
    }
    throw new Error(`stream ${stream} has no settled leader${what}: ${last}`);
  };

  const cluster = {
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (found === undefined) throw new Error(`no node ${name}`);
      return found;
    },
    async connect() {
      const nc = await client.connect(nodes.map((n) => n.url));
      connections.push(nc);
      return nc;
    },
    async waitForJetStream(timeoutMs = 30_000) {
      const jsm = await managed();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          await jsm.getAccountInfo();
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
    },
    async waitForLeader(stream, exclude, timeoutMs = 20_000) {
      const current = (replicas) => replicas.every((r) => r.current && !r.offline);
      const { leader } = await settle(
        stream,
        timeoutMs,
        (leader, replicas) => leader !== exclude && current(replicas),
        exclude === undefined ? "" : ` other than ${exclude}`,
      );
      return leader;
    },
    async replicasOf(stream, timeoutMs = 20_000) {
      const { leader, replicas } = await settle(
        stream,
        timeoutMs,
        (_, replicas) => replicas.length > 0 && replicas.every((r) => r.current && !r.offline),
        "",
      );
      return { leader, followers: replicas.map((r) => r.name) };
    },
    pause: (name) => cluster.node(name).server.pause(),
    resume: (name) => cluster.node(name).server.resume(),
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
