import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type StoredEvent, createBus, createReader, silentLogger } from "@netmesh/core";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, uniquePrefix } from "./support/helpers.js";

const url = inject("redisUrl");
const prefix = uniquePrefix("group-procs");
const blockedPrefix = uniquePrefix("group-blocked");
const dir = mkdtempSync(join(tmpdir(), "netmesh-group-"));
const script = fileURLToPath(new URL("./support/group-member.ts", import.meta.url));
const children: ChildProcess[] = [];
const PAGE = 50;
const TTL = 1_000; // the child member's settings (support/group-member.ts)
const EVENTS = 400;

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  const redis = new Redis(url);
  await deleteKeys(redis, prefix);
  await deleteKeys(redis, blockedPrefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function start(member: string, at = prefix, page = PAGE): Promise<ChildProcess> {
  const child = fork(script, [url, at, member, join(dir, member), String(page)], {
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

function lines(member: string): string[] {
  try {
    return readFileSync(join(dir, member), "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Blocks this process's event loop, as a long synchronous step or a GC pause would. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

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

  it("a member whose event loop was blocked past its lease stops delivering the shard: no event delivered by it and by its successor", async () => {
    const bus = await createBus({ adapter: new RedisAdapter({ url, prefix: blockedPrefix }), shards: 1 });
    for (let i = 0; i < EVENTS; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.shutdown();
    const watcher = new RedisAdapter({ url, prefix: blockedPrefix });
    await watcher.init({ logger: silentLogger });
    const coordinator = watcher.coordination();
    // "a" sorts before the child's "z": with both alive the one shard is a's share.
    const reader = await createReader({
      adapter: new RedisAdapter({ url, prefix: blockedPrefix }),
      shardRefreshMs: 100,
    });
    const member = reader.subscribe({
      group: "procs",
      member: "a",
      leaseTtlMs: TTL,
      rebalanceMs: 200,
      pageSize: 500,
    });
    const before: StoredEvent[] = [];
    const after: StoredEvent[] = [];
    let blocked = false;
    const consuming = (async () => {
      for await (const event of member) {
        (blocked ? after : before).push(event);
        if (before.length === 5 && !blocked) {
          // Hold the page (renewing meanwhile) until the successor-to-be runs in its own process.
          await start("z", blockedPrefix, 500);
          await waitFor("z in the group", async () => (await coordinator.members("procs")).includes("z"));
        }
        if (before.length === 10 && !blocked) {
          blocked = true;
          block(3.5 * TTL); // a's lease expires; z takes the shard over meanwhile
        }
      }
    })();
    await waitFor(`z delivers all ${EVENTS} events`, () => new Set(lines("z")).size === EVENTS);
    await new Promise((resolve) => setTimeout(resolve, 2 * TTL));
    await reader.close();
    await consuming;
    await watcher.shutdown();
    const bySuccessor = new Set(lines("z"));
    const overlap = after.filter((event) => bySuccessor.has(`${event.shard}:${event.id}`));
    console.info(
      `blocked member: ${before.length} delivered before, ${after.length} after, ${overlap.length} also by z`,
    );
    expect(blocked).toBe(true);
    expect(
      new Set([...before, ...after].map((e) => `${e.shard}:${e.id}`).concat([...bySuccessor])).size,
    ).toBe(EVENTS);
    expect(overlap.map((event) => event.id)).toEqual([]);
  }, 60_000);
});
