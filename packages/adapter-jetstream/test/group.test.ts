import { jetstreamManager } from "@nats-io/jetstream";
import { runGroupConformance } from "@netmesh/adapter-testkit";
import { silentLogger } from "@netmesh/core/adapter";
import { afterAll, describe, expect, it } from "vitest";
import { GroupBucket } from "../src/group-bucket.js";
import { JetStreamAdapter } from "../src/index.js";
import { NATS_URL, deleteStreams, uniquePrefix, withConnection } from "./support/nats.js";

const prefixes: string[] = [];
function newPrefix(tag: string): string {
  const prefix = uniquePrefix(tag);
  prefixes.push(prefix);
  return prefix;
}

/** Deletes the shard streams and the group bucket of each prefix. */
async function cleanup(list: readonly string[]): Promise<void> {
  for (const prefix of list) {
    await deleteStreams(prefix);
    await withConnection(NATS_URL, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.delete(`KV_${prefix}_groups`).catch(() => false);
    });
  }
}
afterAll(() => cleanup(prefixes));

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ready(prefix: string): Promise<JetStreamAdapter> {
  const adapter = new JetStreamAdapter({ url: NATS_URL, prefix });
  await adapter.init({ logger: silentLogger });
  return adapter;
}

describe("consumer groups on JetStream: the KV coordinator", () => {
  it("keeps leases, checkpoints and members in a KV bucket `KV_{prefix}_groups` in the standard layout", async () => {
    const prefix = newPrefix("gkv");
    const adapter = await ready(prefix);
    try {
      const c = adapter.coordination();
      expect(adapter.coordination()).toBe(c); // one coordinator: it remembers what it saw and holds
      expect(await c.acquire("bill/ing?", 2, "w/1", "t1", 5_000)).toBe(true); // any printable name
      expect(await c.writeCheckpoint("bill/ing?", 2, "t1", "41")).toBe(true);
      await c.heartbeat("bill/ing?", "w/1", 5_000);
      const info = await withConnection(NATS_URL, async (nc) =>
        (await jetstreamManager(nc)).streams.info(`KV_${prefix}_groups`, { subjects_filter: ">" }),
      );
      expect(info.config.subjects).toEqual([`$KV.${prefix}_groups.>`]);
      expect(info.config.max_msgs_per_subject).toBe(1);
      expect(info.config.allow_rollup_hdrs).toBe(true);
      const group = Buffer.from("bill/ing?").toString("base64url");
      expect(Object.keys(info.state.subjects ?? {}).sort()).toEqual([
        `$KV.${prefix}_groups.${group}.lease.2`,
        `$KV.${prefix}_groups.${group}.member.${Buffer.from("w/1").toString("base64url")}`,
      ]);
      expect(await c.members("bill/ing?")).toEqual(["w/1"]);
      expect(Object.fromEntries(await c.leases("bill/ing?"))).toEqual({ 2: "w/1" });
      await expect(c.members("bad{name}")).rejects.toMatchObject({ code: "ADAPTER_FATAL" });
      await expect(c.writeCheckpoint("g", 2, "t1", "")).rejects.toMatchObject({ code: "ADAPTER_FATAL" });
    } finally {
      await adapter.shutdown();
    }
    await expect(adapter.coordination().members("g")).rejects.toMatchObject({ code: "ADAPTER_SHUTDOWN" });
  });

  it("expiry is judged on the observer's own clock: a late observer waits a whole TTL from its first look", async () => {
    const prefix = newPrefix("gexp");
    const holder = await ready(prefix);
    const late = await ready(prefix);
    try {
      const h = holder.coordination();
      const o = late.coordination();
      expect(await h.acquire("g", 0, "h", "th", 400)).toBe(true);
      await h.heartbeat("g", "h", 400);
      await pause(600); // the holder is dead by now, but this observer has never looked
      expect(await o.members("g")).toEqual(["h"]);
      expect(Object.fromEntries(await o.leases("g"))).toEqual({ 0: "h" });
      expect(await o.acquire("g", 0, "o", "to", 400)).toBe(false);
      await pause(200);
      expect(await o.acquire("g", 0, "o", "to", 400)).toBe(false); // 200 ms of a 400 ms TTL seen
      await pause(250);
      expect(await o.members("g")).toEqual([]);
      // Judged dead, it is written down: a member that starts watching now does not count it.
      const fresh = await ready(prefix);
      try {
        expect(await fresh.coordination().members("g")).toEqual([]);
      } finally {
        await fresh.shutdown();
      }
      expect(await o.acquire("g", 0, "o", "to", 400)).toBe(true);
      // The holder's own view: its TTL ran out since its last renewal, so it holds nothing.
      expect(await h.renew("g", 0, "th", 400)).toBe(false);
    } finally {
      await holder.shutdown();
      await late.shutdown();
    }
  });

  it("a renewal keeps the lease alive for an observer past many TTLs", async () => {
    const prefix = newPrefix("gren");
    const holder = await ready(prefix);
    const other = await ready(prefix);
    try {
      const h = holder.coordination();
      const o = other.coordination();
      expect(await h.acquire("g", 1, "h", "th", 300)).toBe(true);
      for (let i = 0; i < 8; i++) {
        expect(await o.acquire("g", 1, "o", "to", 300)).toBe(false);
        await pause(100);
        expect(await h.renew("g", 1, "th", 300)).toBe(true);
      }
      expect(Object.fromEntries(await o.leases("g"))).toEqual({ 1: "h" });
    } finally {
      await holder.shutdown();
      await other.shutdown();
    }
  });
});

describe("consumer groups on JetStream: following a group", () => {
  it("a follow whose consumer vanished (a server restart, a deletion) is started anew once its own writes stop coming back", async () => {
    const prefix = newPrefix("gstall");
    const [watcher, joiner] = await Promise.all([ready(prefix), ready(prefix)]);
    try {
      const w = watcher.coordination();
      await w.heartbeat("g", "w", 30_000);
      expect(await w.members("g")).toEqual(["w"]);
      // The server forgets the follow consumer: nothing reaches the watcher any more.
      await withConnection(NATS_URL, async (nc) => {
        const manager = await jetstreamManager(nc);
        for await (const consumer of manager.consumers.list(`KV_${prefix}_groups`)) {
          await manager.consumers.delete(`KV_${prefix}_groups`, consumer.name);
        }
      });
      await joiner.coordination().heartbeat("g", "j", 30_000);
      const started = performance.now();
      let members = await w.members("g");
      for (let i = 0; i < 400 && members.length < 2; i++) {
        await w.heartbeat("g", "w", 30_000); // its own write, which does not come back
        await pause(50);
        members = await w.members("g");
      }
      expect(members).toEqual(["j", "w"]);
      // Noticed within the stall bound (5 s) plus a restart, not after the client's missed heartbeats.
      expect(performance.now() - started).toBeLessThan(15_000);
    } finally {
      await Promise.all([watcher.shutdown(), joiner.shutdown()]);
    }
  });
});

describe("consumer groups on JetStream: the bucket stays bounded", () => {
  /** The member keys of group `g` present in the bucket of `prefix`. */
  const memberKeys = (prefix: string) =>
    withConnection(NATS_URL, async (nc) => {
      const info = await (await jetstreamManager(nc)).streams.info(`KV_${prefix}_groups`, {
        subjects_filter: `$KV.${prefix}_groups.${Buffer.from("g").toString("base64url")}.member.*`,
      });
      const names = Object.keys(info.state.subjects ?? {}).map((subject) =>
        Buffer.from(subject.slice(subject.lastIndexOf(".") + 1), "base64url").toString("utf8"),
      );
      return names.sort();
    });

  it("a purge removes a key only while the revision it names is its last write", async () => {
    const prefix = newPrefix("gpurge");
    await withConnection(NATS_URL, async (nc) => {
      const manager = await jetstreamManager(nc);
      const bucket = new GroupBucket({
        prefix,
        replicas: 1,
        requestTimeoutMs: 5_000,
        session: () => ({ connection: nc, manager }),
      });
      const first = (await bucket.put("k", { n: 1 }, "test"))!;
      const second = (await bucket.put("k", { n: 2 }, "test"))!;
      await bucket.purge("k", first, "test"); // written again since: it stays
      expect(await bucket.get("k", "test")).toEqual({ value: { n: 2 }, revision: second });
      await bucket.purge("k", second, "test");
      expect(await bucket.get("k", "test")).toBeUndefined();
    });
  });

  it("the keys of members that left or died are purged once they lingered for their TTL; one coming back counts again", async () => {
    const prefix = newPrefix("gcompact");
    const [watcher, leaver, dying] = await Promise.all([ready(prefix), ready(prefix), ready(prefix)]);
    let beating: NodeJS.Timeout | undefined;
    try {
      const w = watcher.coordination();
      const l = leaver.coordination();
      const d = dying.coordination();
      await w.heartbeat("g", "w", 30_000);
      // l and d stay alive until told otherwise, however slow the machine.
      const alive = new Set(["l", "d"]);
      const beat = async () => {
        await Promise.all([
          alive.has("l") ? l.heartbeat("g", "l", 400) : undefined,
          alive.has("d") ? d.heartbeat("g", "d", 400) : undefined,
        ]);
      };
      await beat();
      beating = setInterval(() => void beat().catch(() => {}), 50);
      const members = async (expected: string[]) => {
        for (let i = 0; i < 200 && JSON.stringify(await w.members("g")) !== JSON.stringify(expected); i++) {
          await pause(25);
        }
        expect(await w.members("g")).toEqual(expected);
      };
      await members(["d", "l", "w"]);
      expect(await memberKeys(prefix)).toEqual(["d", "l", "w"]);
      alive.delete("l");
      await l.leave("g", "l"); // at once: the left marker is the leave
      await members(["d", "w"]);
      // d stops heartbeating: judged dead after its TTL, written down as left, purged after another.
      alive.delete("d");
      clearInterval(beating);
      await members(["w"]);
      let keys = await memberKeys(prefix);
      for (let i = 0; i < 100 && keys.length > 1; i++) {
        await w.members("g"); // a member's look at the membership is what compacts it
        await pause(50);
        keys = await memberKeys(prefix);
      }
      expect(keys).toEqual(["w"]);
      await d.heartbeat("g", "d", 30_000);
      await members(["d", "w"]);
    } finally {
      clearInterval(beating);
      await Promise.all([watcher.shutdown(), leaver.shutdown(), dying.shutdown()]);
    }
  });
});

runGroupConformance({
  name: "jetstream",
  namespace: newPrefix,
  create: (prefix) => new JetStreamAdapter({ url: NATS_URL, prefix }),
});
