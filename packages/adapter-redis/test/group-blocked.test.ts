import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type StoredEvent, createBus, createReader, silentLogger } from "@netmesh/core";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, uniquePrefix } from "./support/helpers.js";
import { memberLines, waitUntil } from "./support/member-files.js";

const url = inject("redisUrl");
const prefix = uniquePrefix("group-blocked");
const dir = mkdtempSync(join(tmpdir(), "netmesh-group-blocked-"));
const script = fileURLToPath(new URL("./support/group-member.ts", import.meta.url));
const children: ChildProcess[] = [];
const TTL = 1_000; // the child member's settings (support/group-member.ts)
const EVENTS = 400;

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  const redis = new Redis(url);
  await deleteKeys(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (member: string): string[] => memberLines(dir, member);
const waitFor = waitUntil;

/** Blocks this process's event loop, as a long synchronous step or a GC pause would. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe("consumer groups on Redis: a member whose event loop was blocked past its lease", () => {
  it("stops delivering the shard once its lease ran out: no event delivered by it and by its successor", async () => {
    const bus = await createBus({ adapter: new RedisAdapter({ url, prefix }), shards: 1 });
    for (let i = 0; i < EVENTS; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.shutdown();
    const watcher = new RedisAdapter({ url, prefix });
    await watcher.init({ logger: silentLogger });
    const coordinator = watcher.coordination();
    // "a" sorts before the child's "z": with both alive the one shard is a's share.
    const reader = await createReader({ adapter: new RedisAdapter({ url, prefix }), shardRefreshMs: 100 });
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
          const child = fork(script, [url, prefix, "z", join(dir, "z"), "500"], {
            execArgv: ["--import", "tsx"],
            stdio: ["ignore", "ignore", "inherit", "ipc"],
          });
          children.push(child);
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
