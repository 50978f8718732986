import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@netmesh/test-backends";
import { Redis } from "ioredis";
import { ServerProcess, binaryPath } from "./server-process.js";

/** A Redis master and one replica of it, each its own redis-server on a free loopback port. */
export interface RedisPair {
  readonly master: ServerProcess;
  readonly replica: ServerProcess;
  /** A client of the test's own on `server` (closed by {@link RedisPair.stop}). */
  client(server: ServerProcess): Redis;
  /** Resolves once the replica reports its link to the master up and its offset equal to the master's. */
  waitInSync(timeoutMs?: number): Promise<void>;
  /** Kills both servers, closes the clients and removes the data directories. */
  stop(): Promise<void>;
}

function serverArgs(dir: string, port: number, extra: readonly string[]): string[] {
  // No persistence: a fresh replica syncs with a disk-less RDB transfer, which is quick.
  return [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--repl-diskless-sync",
    "yes",
    "--repl-diskless-sync-delay",
    "0",
    ...extra,
  ];
}

/** A field of an `INFO` reply, or undefined. */
export function infoField(info: string, field: string): string | undefined {
  const match = new RegExp(`^${field}:(.*)$`, "m").exec(info);
  return match?.[1]?.trim();
}

/** Starts a master and a replica (`--replicaof`) and waits until the replica is in sync. */
export async function startRedisPair(): Promise<RedisPair> {
  const binary = binaryPath("redis-server", "redis-server");
  const root = mkdtempSync(join(tmpdir(), "netmesh-repl-redis-"));
  const [masterPort, replicaPort] = [await freePort(), await freePort()];
  mkdirSync(join(root, "master"));
  mkdirSync(join(root, "replica"));
  const master = new ServerProcess(
    "redis master",
    binary,
    serverArgs(join(root, "master"), masterPort, []),
    masterPort,
  );
  const replica = new ServerProcess(
    "redis replica",
    binary,
    serverArgs(join(root, "replica"), replicaPort, ["--replicaof", "127.0.0.1", String(masterPort)]),
    replicaPort,
  );
  const clients: Redis[] = [];
  const open = (server: ServerProcess) => {
    const client = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 1 });
    client.on("error", () => {}); // the tests stop and kill servers on purpose
    return client;
  };
  const pair: RedisPair = {
    master,
    replica,
    client(server) {
      const client = open(server);
      clients.push(client);
      return client;
    },
    async waitInSync(timeoutMs = 10_000) {
      const onMaster = open(master);
      const onReplica = open(replica);
      try {
        const deadline = Date.now() + timeoutMs;
        // After a disk-less full sync the master holds the command stream back until the replica's first
        // ack (up to 1 s): "link up and equal offsets" is not enough. A write must have reached it.
        await onMaster.set("netmesh:sync-check", String(Date.now()));
        for (;;) {
          const [m, r] = await Promise.all([onMaster.info("replication"), onReplica.info("replication")]);
          const up = infoField(r, "master_link_status") === "up";
          const offset = infoField(m, "master_repl_offset");
          if (up && offset !== "0" && offset === infoField(r, "slave_repl_offset")) return;
          if (Date.now() > deadline)
            throw new Error(`the replica did not get in sync within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        onMaster.disconnect();
        onReplica.disconnect();
      }
    },
    async stop() {
      for (const client of clients.splice(0)) client.disconnect();
      await Promise.all([master.kill(), replica.kill()]);
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await master.start();
    await replica.start();
    await pair.waitInSync();
  } catch (error) {
    await pair.stop();
    throw error;
  }
  return pair;
}
