import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createBus, silentLogger } from "@netmesh/core";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, uniquePrefix } from "./support/helpers.js";
import { memberLines, waitUntil } from "./support/member-files.js";

const url = inject("redisUrl");
const prefix = uniquePrefix("group-procs");
const dir = mkdtempSync(join(tmpdir(), "netmesh-group-"));
const script = fileURLToPath(new URL("./support/group-member.ts", import.meta.url));
const children: ChildProcess[] = [];
const PAGE = 50;
const TTL = 1_000;

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  const redis = new Redis(url);
  await deleteKeys(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function start(member: string): Promise<ChildProcess> {
  const child = fork(script, [url, prefix, member, join(dir, member), String(PAGE)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`member ${member} exited with ${code}`)));
    setTimeout(() => reject(new Error(`member ${member} did not start`)), 15_000).unref();
  });
}

const lines = (member: string): string[] => memberLines(dir, member);
const waitFor = waitUntil;

describe("consumer group members in child processes", () => {
  it("a member SIGKILLed mid-stream: shards taken over within TTL + 1 s, 0 missed, duplicates < one page", async () => {
    const watcher = new RedisAdapter({ url, prefix });
    await watcher.init({ logger: silentLogger });
    const coordinator = watcher.coordination();
    const owners = async (): Promise<Map<string, number>> => {
      const counts = new Map<string, number>();
      for (const member of (await coordinator.leases("procs")).values())
        counts.set(member, (counts.get(member) ?? 0) + 1);
      return counts;
    };
    const bus = await createBus({ adapter: new RedisAdapter({ url, prefix }), shards: 8 });
    for (let i = 0; i < 800; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.flush();
    const [, victim] = await Promise.all([start("p1"), start("p2"), start("p3")]);
    await waitFor("a 3/3/2 split", async () => {
      const counts = await owners();
      return counts.size === 3 && [...counts.values()].sort().join() === "2,3,3";
    });
    // Mid-stream: events keep coming while p2 is killed.
    let total = 800;
    const feeding = (async () => {
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 200; i++) bus.ingest({ i: total + i }, { key: `k${total + i}` });
        total += 200;
        await bus.flush();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    await waitFor("p2 mid-stream", () => lines("p2").length >= 100);
    victim!.kill("SIGKILL");
    const killedAt = performance.now();
    await waitFor(
      "p1 and p3 own all 8 shards",
      async () => {
        const counts = await owners();
        return !counts.has("p2") && (counts.get("p1") ?? 0) + (counts.get("p3") ?? 0) === 8;
      },
      TTL + 3_000,
    );
    const taken = performance.now() - killedAt;
    await feeding;
    await bus.shutdown();
    const union = () => new Set(["p1", "p2", "p3"].flatMap(lines));
    await waitFor(`all ${total} events`, () => union().size === total);
    for (const child of children.filter((c) => c !== victim)) child.kill("SIGTERM");
    await Promise.all(
      children
        .filter((c) => c !== victim)
        .map(
          (c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : c.once("exit", resolve))),
        ),
    );
    const all = ["p1", "p2", "p3"].flatMap(lines);
    const duplicates = all.length - union().size;
    console.info(
      `processes: ${total} events, p2 delivered ${lines("p2").length} before SIGKILL, taken over in ${Math.round(taken)} ms, duplicates ${duplicates}`,
    );
    expect(union().size).toBe(total); // 0 missed
    expect(taken).toBeLessThan(TTL + 1_000);
    expect(duplicates).toBeLessThanOrEqual(PAGE);
    await watcher.shutdown();
  }, 60_000);
});
