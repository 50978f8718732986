import { randomBytes } from "node:crypto";
import { type Adapter, createReader, silentLogger } from "@netmesh/core";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { GroupHarness, balanced, converges, duplicates, tally, waitFor } from "./harness.js";

/** Options of {@link runGroupConformance}. */
export interface GroupConformanceOptions {
  /** Names the `describe` block. */
  readonly name: string;
  /**
   * A new, uninitialised adapter over the backend state of `namespace` (a key prefix, a stream
   * prefix, a store): adapters of one namespace see the same shards and the same groups, as processes
   * on one backend do. It must offer `coordination()`.
   */
  create(namespace: string): Adapter;
  /** Removes what the namespaces' adapters created, after the suite. */
  cleanup?(namespaces: readonly string[]): Promise<void>;
  /** A namespace no other run uses, from a short tag. Default `g<tag><random hex>`. */
  namespace?(tag: string): string;
  /** Lease TTL of the members, ms. Default 1,000. */
  readonly ttlMs?: number;
  /** Rebalance period of the members, ms. Default 200. */
  readonly rebalanceMs?: number;
  /** Per-case timeout, ms. Default 60,000. */
  readonly timeoutMs?: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Registers the consumer-group conformance suite with vitest: members in this process, each with an
 * adapter of its own (as separate processes would have), over one backend. It checks fair shares with
 * every event delivered once, independent groups (any allowed name), a clean leave handing over with
 * no duplicate, a join getting shards within two rebalance periods, a crash taken over within TTL + 1 s
 * with nothing missed and duplicates bounded by the un-checkpointed page, a release past the holder's
 * TTL freeing the lease (without its position), fencing of a stale holder,
 * monotonic checkpoints, and manual ack.
 *
 * ```ts
 * runGroupConformance({ name: "redis", create: (prefix) => new RedisAdapter({ url, prefix }) });
 * ```
 */
export function runGroupConformance(options: GroupConformanceOptions): void {
  const ttl = options.ttlMs ?? 1_000;
  const rebalance = options.rebalanceMs ?? 200;
  const timeout = options.timeoutMs ?? 60_000;
  const namespaces: string[] = [];
  const harnesses: GroupHarness[] = [];
  const fresh = (tag: string): { namespace: string; harness: GroupHarness } => {
    const namespace = options.namespace?.(tag) ?? `g${tag}${randomBytes(4).toString("hex")}`;
    namespaces.push(namespace);
    const harness = new GroupHarness(() => options.create(namespace), { ttlMs: ttl, rebalanceMs: rebalance });
    harnesses.push(harness);
    return { namespace, harness };
  };

  describe(`consumer-group conformance: ${options.name}`, () => {
    afterEach(async () => {
      await Promise.all(harnesses.splice(0).map((harness) => harness.closeAll()));
    });
    afterAll(async () => {
      await options.cleanup?.(namespaces);
    });

    it(
      "fair shares: 3 members split 8 shards 3/3/2, every event delivered exactly once, in shard order",
      async () => {
        const { harness } = fresh("fair");
        await harness.produce(0, 4_000);
        const members = await Promise.all(["w1", "w2", "w3"].map((name) => harness.join(name)));
        await waitFor("a 3/3/2 split", () => balanced(members, 8));
        await harness.produce(4_000, 4_000);
        await waitFor("all 8,000 events", () => tally(members).size === 8_000);
        await pause(3 * rebalance);
        const counts = tally(members);
        expect(counts.size).toBe(8_000);
        expect(duplicates(counts)).toBe(0);
        expect(balanced(members, 8)).toBe(true);
        expect(members.map((member) => member.sub.shards().length).sort()).toEqual([2, 3, 3]);
        const owners = members.flatMap((member) => member.sub.shards());
        expect([...owners].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
        // Per member, a shard's events come in the shard's order (a shard may have changed hands while
        // the members joined: a clean handover, so still no duplicate).
        for (const member of members) {
          const last = new Map<number, number>();
          for (const [index, event] of member.seen.entries()) {
            const i = (JSON.parse(event.json) as { i: number }).i;
            expect(i, `member ${member.name}, delivery ${index}`).toBeGreaterThan(
              last.get(event.shard) ?? -1,
            );
            last.set(event.shard, i);
          }
        }
      },
      timeout,
    );

    it(
      "two groups over the same shards are independent, each reading every event once; any allowed name works",
      async () => {
        const { namespace, harness } = fresh("groups");
        // Every character core accepts in a name ("!" to "~" but the braces), in one group and its members.
        const odd = "!\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az|~";
        const other = new GroupHarness(
          () => options.create(namespace),
          { ttlMs: ttl, rebalanceMs: rebalance },
          odd,
        );
        harnesses.push(other);
        await harness.produce(0, 2_000);
        const plain = await Promise.all(["w1", "w2"].map((name) => harness.join(name)));
        const strange = await Promise.all([`${odd}1`, `${odd}2`].map((name) => other.join(name)));
        await waitFor("a 4/4 split in each group", () => balanced(plain, 8) && balanced(strange, 8));
        await harness.produce(2_000, 2_000);
        await waitFor(
          "all 4,000 events in each group",
          () => tally(plain).size === 4_000 && tally(strange).size === 4_000,
        );
        await pause(3 * rebalance);
        for (const members of [plain, strange]) {
          const counts = tally(members);
          expect(counts.size).toBe(4_000);
          expect(duplicates(counts)).toBe(0);
        }
        // Closing one group's members moves nothing in the other.
        const kept = strange.map((member) => member.sub.shards());
        await Promise.all(plain.map((member) => member.sub.close()));
        await pause(3 * rebalance);
        expect(strange.map((member) => member.sub.shards())).toEqual(kept);
      },
      timeout,
    );

    it(
      "a member joining mid-stream gets shards within two rebalance periods; one leaving cleanly hands over with no duplicate",
      async () => {
        const { harness } = fresh("handover");
        await harness.produce(0, 2_000);
        const a = await harness.join("a");
        const b = await harness.join("b");
        await waitFor("a 4/4 split", () => balanced([a, b], 8));
        const feeding = harness.produce(2_000, 4_000); // the join happens while events arrive
        const c = await harness.join("c");
        const joinedIn = await waitFor("c owns a shard", () => c.sub.shards().length > 0);
        // The others see c at once where the coordinator watches, else at their next tick (one
        // rebalance period), and release; c retries meanwhile.
        expect(joinedIn).toBeLessThan(2 * rebalance);
        await waitFor("a 3/3/2 split", () => balanced([a, b, c], 8));
        await feeding;
        await waitFor("all 6,000 events", () => tally([a, b, c]).size === 6_000);
        const handed = c.sub.shards();
        c.halt();
        await c.sub.close();
        expect(c.sub.shards()).toEqual([]);
        await waitFor("a 4/4 split after c left", () => balanced([a, b], 8));
        expect(handed.every((shard) => [...a.sub.shards(), ...b.sub.shards()].includes(shard))).toBe(true);
        await harness.produce(6_000, 4_000);
        await waitFor("all 10,000 events", () => tally([a, b, c]).size === 10_000);
        await pause(3 * rebalance);
        const counts = tally([a, b, c]);
        expect(counts.size).toBe(10_000);
        expect(duplicates(counts)).toBe(0);
        console.info(
          `${options.name}: join got a shard in ${Math.round(joinedIn)} ms (rebalanceMs ${rebalance})`,
        );
      },
      timeout,
    );

    it(
      "a member that crashes mid-stream: its shards taken over within TTL + 1 s, 0 missed, duplicates only from its un-checkpointed page",
      async () => {
        const { harness } = fresh("crash");
        const pageSize = 50;
        await harness.produce(0, 800);
        const a = await harness.join("a", pageSize);
        const b = await harness.join("b", pageSize);
        const c = await harness.join("c", pageSize);
        await waitFor("a 3/3/2 split", () => balanced([a, b, c], 8));
        const crashAt = b.armCrash(130);
        const feeding = harness.produce(800, 8_000);
        await waitFor("b's crash", () => b.crashedAt() !== undefined);
        await waitFor("a and c own all 8 shards", () => balanced([a, c], 8), ttl + 3_000);
        const taken = performance.now() - b.crashedAt()!;
        await feeding;
        await waitFor("all 8,800 events", () => tally([a, b, c]).size === 8_800);
        const counts = tally([a, b, c]);
        const dupes = duplicates(counts);
        console.info(`${options.name}: crash taken over in ${Math.round(taken)} ms, duplicates ${dupes}`);
        expect(taken).toBeLessThan(ttl + 1_000);
        expect(counts.size).toBe(8_800); // 0 missed
        expect(b.seen).toHaveLength(crashAt);
        // Only what b delivered after its last checkpoint comes again: at most one page.
        expect(dupes).toBeLessThanOrEqual(pageSize);
        const bSeen = new Set(b.seen.map((event) => `${event.shard}:${event.id}`));
        for (const [key, count] of counts) if (count > 1) expect(bSeen.has(key)).toBe(true);
      },
      timeout,
    );

    it(
      "a holder past its TTL that releases frees the lease, even for a coordinator that only started looking; its position is not written",
      async () => {
        const { namespace } = fresh("late");
        const first = options.create(namespace);
        await first.init({ logger: silentLogger });
        const later = options.create(namespace);
        try {
          const a = first.coordination!();
          const short = 300;
          expect(await a.acquire("late", 0, "a", "ta", short)).toBe(true);
          await pause(short + 100); // a fenced itself by its own clock; the backend may count it held still
          await a.release("late", 0, "ta", "1-0"); // a position is only written under a held lease
          expect(await a.readCheckpoint("late", 0)).toBeUndefined();
          await a.release("late", 0, "ta"); // what a member that fenced itself sends
          // A coordinator that judges expiry by watching revisions would wait a TTL from its first look.
          await later.init({ logger: silentLogger });
          expect(await later.coordination!().acquire("late", 0, "c", "tc", 5_000)).toBe(true);
        } finally {
          await first.shutdown();
          await later.shutdown();
        }
      },
      timeout,
    );

    it(
      "fencing: a holder whose lease was taken over cannot renew or checkpoint; checkpoints never move back",
      async () => {
        const { namespace, harness } = fresh("fence");
        await harness.produce(0, 50, 1);
        const first = options.create(namespace);
        const second = options.create(namespace);
        await first.init({ logger: silentLogger });
        await second.init({ logger: silentLogger });
        try {
          const page = await first.pollShard(0, undefined, 4);
          const [early, middle, late, last] = page.events.map((event) => event.id);
          expect(last).toBeDefined();
          const a = first.coordination!();
          const b = second.coordination!();
          const short = 300;
          expect(await a.acquire("fence", 0, "a", "ta", short)).toBe(true);
          expect(await a.writeCheckpoint("fence", 0, "ta", middle!)).toBe(true);
          expect(await a.writeCheckpoint("fence", 0, "ta", early!)).toBe(true); // held, never back
          expect(await b.readCheckpoint("fence", 0)).toBe(middle);
          expect(await b.acquire("fence", 0, "b", "tb", short)).toBe(false);
          expect(await b.renew("fence", 0, "tb", short)).toBe(false);
          expect(await b.writeCheckpoint("fence", 0, "tb", late!)).toBe(false);
          expect(Object.fromEntries(await b.leases("fence"))).toEqual({ 0: "a" });
          await pause(short + 100); // a stops renewing: its lease expires
          expect(await b.acquire("fence", 0, "b", "tb", 5_000)).toBe(true);
          expect(await a.renew("fence", 0, "ta", short)).toBe(false);
          expect(await a.writeCheckpoint("fence", 0, "ta", late!)).toBe(false);
          expect(await a.readCheckpoint("fence", 0)).toBe(middle); // the stale write changed nothing
          // A coordinator may answer from a copy it follows: another process's write shows soon.
          await converges("a sees b's lease", async () => Object.fromEntries(await a.leases("fence")), {
            0: "b",
          });
          await a.release("fence", 0, "ta", last); // not the holder: a no-op, its checkpoint ignored
          expect(await a.readCheckpoint("fence", 0)).toBe(middle);
          expect(Object.fromEntries(await a.leases("fence"))).toEqual({ 0: "b" });
          expect(await b.writeCheckpoint("fence", 0, "tb", late!)).toBe(true);
          expect(await a.readCheckpoint("fence", 0)).toBe(late);
          await b.release("fence", 0, "tb", middle!); // a release's checkpoint never moves back either
          expect(await a.readCheckpoint("fence", 0)).toBe(late);
          expect(await a.acquire("fence", 0, "a", "ta2", short)).toBe(true); // released: free at once
          expect(await a.readCheckpoint("fence", 0)).toBe(late); // the checkpoint outlives the lease
          await a.release("fence", 0, "ta2", last); // the handover: the position moves with the release
          expect(await b.readCheckpoint("fence", 0)).toBe(last);
          expect(await b.acquire("fence", 0, "b", "tb2", short)).toBe(true);
          expect(await b.readCheckpoint("fence", 0)).toBe(last);
        } finally {
          await first.shutdown();
          await second.shutdown();
        }
      },
      timeout,
    );

    it(
      "watch (where offered): a join, a lease taken, a release and a leave are reported; nothing once stopped",
      async (context) => {
        const { namespace } = fresh("watch");
        const watching = options.create(namespace);
        const acting = options.create(namespace);
        await watching.init({ logger: silentLogger });
        await acting.init({ logger: silentLogger });
        try {
          const w = watching.coordination!();
          const o = acting.coordination!();
          if (w.watch === undefined) {
            context.skip(`${options.name}: the coordinator has no watch (members rebalance on their timer)`);
            return;
          }
          let calls = 0;
          const stop = w.watch("g", () => {
            calls++;
          });
          await w.members("g"); // a coordinator that follows the backend does so from here on
          const reported = async (what: string, act: () => Promise<unknown>) => {
            const before = calls;
            await act();
            await waitFor(`${what} reported`, () => calls > before, 5_000);
          };
          await reported("a join", () => o.heartbeat("g", "o", 5_000));
          await reported("a lease taken", async () =>
            expect(await o.acquire("g", 3, "o", "to", 5_000)).toBe(true),
          );
          await reported("a release", () => o.release("g", 3, "to"));
          await reported("a leave", () => o.leave("g", "o"));
          stop();
          const stopped = calls;
          await o.heartbeat("g", "o2", 5_000);
          expect(await o.acquire("g", 4, "o2", "t2", 5_000)).toBe(true);
          await converges("the watcher sees the lease", async () => Object.fromEntries(await w.leases("g")), {
            4: "o2",
          });
          await pause(100);
          expect(calls).toBe(stopped);
        } finally {
          await watching.shutdown();
          await acting.shutdown();
        }
      },
      timeout,
    );

    it(
      "manual ack: only checkpoint() moves the group's position; the next member resumes from it",
      async () => {
        const { namespace, harness } = fresh("manual");
        await harness.produce(0, 800);
        const reader = await createReader({ adapter: options.create(namespace) });
        try {
          const sub = reader.subscribe({
            group: "g",
            member: "m",
            ack: "manual",
            pageSize: 10,
            rebalanceMs: 50,
            leaseTtlMs: ttl,
          });
          const first = new Set<string>();
          for await (const event of sub) {
            first.add(`${event.shard}:${event.id}`);
            if (first.size === 25) await sub.checkpoint();
            if (first.size === 40) break; // closes: with manual ack, nothing more is checkpointed
          }
          const again = reader.subscribe({ group: "g", member: "m2", rebalanceMs: 50, leaseTtlMs: ttl });
          const rest = new Set<string>();
          for await (const event of again) {
            rest.add(`${event.shard}:${event.id}`);
            if (rest.size === 775) break;
          }
          // The 15 delivered after the checkpoint come again; the 25 before it do not.
          expect(rest.size).toBe(775);
          expect(new Set([...first, ...rest]).size).toBe(800);
          expect([...first].filter((id) => rest.has(id))).toHaveLength(15);
        } finally {
          await reader.close();
        }
      },
      timeout,
    );
  });
}
