import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { type Server, type Socket, createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isAdapterError, silentLogger } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter } from "../src/index.js";
import { startOwnServer } from "./support/own-server.js";

// nats.js 3.4.0 leaves the socket of a connect attempt that timed out open (connected, waiting for the
// server's INFO): the process cannot exit. A failed init must leave no handle behind.

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const script = join(root, "test", "support", "connect-and-exit.mjs");

/** True when dist/ was built from the current sources (newer than every file in src/). */
function distIsFresh(): boolean {
  const built = join(root, "dist", "index.js");
  if (!existsSync(built)) return false;
  const builtAt = statSync(built).mtimeMs;
  return readdirSync(join(root, "src")).every((file) => statSync(join(root, "src", file)).mtimeMs <= builtAt);
}

/** Open TCP sockets of this process. */
function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === "TCPSocketWrap").length;
}

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface ChildOutcome {
  readonly code: number | null;
  readonly exitedWithinMs: number | undefined;
  readonly report: { failed: boolean; name?: string; kind?: string; ms?: number } | undefined;
}

/**
 * Runs connect-and-exit.mjs against `url` in a child Node process and waits up to `limitMs` for it to
 * exit on its own (then kills it).
 */
function runChild(adapterModule: string, url: string, limitMs: number): Promise<ChildOutcome> {
  const args = adapterModule.endsWith(".ts") ? ["--import", "tsx"] : [];
  const child = spawn(process.execPath, [...args, script, adapterModule, url, "1000"], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").at(-1);
      resolve({
        code,
        exitedWithinMs: signal === "SIGKILL" ? undefined : Date.now() - started,
        report: line === undefined || line === "" ? undefined : JSON.parse(line),
      });
    });
  });
}

describe("a connect attempt that times out leaves no handle behind", () => {
  let silent: Server;
  const accepted: Socket[] = [];
  let url: string;

  beforeAll(async () => {
    // Accepts TCP connections and never says anything: no INFO, so the client's connect times out.
    silent = createServer((socket) => {
      accepted.push(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    url = `nats://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("in this process: init fails with a TransientError after connectTimeoutMs, and its socket is closed", async () => {
    const before = tcpSockets();
    const adapter = new JetStreamAdapter({ url, prefix: "leak", connectTimeoutMs: 500 });
    const error = await adapter.init({ logger: silentLogger }).catch((e: unknown) => e);
    expect(isAdapterError(error) && error.kind).toBe("transient");
    expect(String(error)).toMatch(/timeout/);
    // The listener sees the other end of every connection closed: the client destroyed its socket.
    expect(accepted.length).toBeGreaterThan(0);
    await waitFor(
      () => accepted.every((socket) => socket.closed),
      5_000,
      "the client's sockets were not closed",
    );
    await waitFor(() => tcpSockets() <= before, 5_000, "TCP handles remain open");
    await adapter.shutdown();
  });

  const targets: [string, string, boolean][] = [
    ["the sources (through tsx)", join(root, "src", "index.ts"), false],
    ["the built package (dist)", join(root, "dist", "index.js"), !distIsFresh()],
  ];

  for (const [what, adapterModule, skip] of targets) {
    it.skipIf(skip)(
      `a child process importing ${what} and core exits on its own after createBus fails`,
      async () => {
        const outcome = await runChild(adapterModule, url, 60_000);
        expect(outcome.report).toMatchObject({ failed: true, name: "TransientError", kind: "transient" });
        expect(outcome.exitedWithinMs, "the child had to be killed: something kept it alive").toBeDefined();
        expect(outcome.code).toBe(0);
      },
      90_000,
    );
  }

  it("a child process exits on its own after createBus fails against a SIGSTOPped nats-server", async () => {
    const server = await startOwnServer();
    try {
      await server.pause();
      const outcome = await runChild(join(root, "src", "index.ts"), server.url(), 60_000);
      expect(outcome.report).toMatchObject({ failed: true, kind: "transient" });
      expect(outcome.exitedWithinMs, "the child had to be killed: something kept it alive").toBeDefined();
      expect(outcome.code).toBe(0);
    } finally {
      server.resume();
      await server.stop();
    }
  }, 90_000);
});
