import { GroupHarness, balanced, duplicates, tally, waitFor } from "@netmesh/adapter-testkit";
import { afterEach, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { uniquePrefix } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

const TTL = 1_000;
const REBALANCE = 200;
let own: OwnRedis | undefined;
let harness: GroupHarness | undefined;

afterEach(async () => {
  await harness?.closeAll();
  await own?.stop();
});

const AOF = ["--appendonly", "yes", "--appendfsync", "always"];

describe("consumer groups across a restart of their Redis (on its own port)", () => {
  it.each([
    ["AOF, restarted at once", AOF, 0],
    ["AOF, down for 2.5 TTLs", AOF, 2.5 * TTL],
    // Leases, checkpoints and streams are gone: what was written afterwards is still delivered.
    ["no persistence, restarted empty", [], 0],
  ])(
    "%s: members keep their shards or take them back, every event delivered, duplicates at most one page per shard, a later join still rebalances",
    async (_, args, downMs) => {
      own = await startOwnRedis(args);
      const prefix = uniquePrefix("group-restart");
      const server = own;
      harness = new GroupHarness(() => new RedisAdapter({ url: server.url(), prefix }), {
        ttlMs: TTL,
        rebalanceMs: REBALANCE,
      });
      const pageSize = 100;
      await harness.produce(0, 4_000);
      const a = await harness.join("a", pageSize);
      const b = await harness.join("b", pageSize);
      await waitFor("a 4/4 split", () => balanced([a, b], 8));
      await waitFor("all 4,000 events before the restart", () => tally([a, b]).size === 4_000);
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await server.restart();
      await harness.produce(4_000, 4_000);
      await waitFor("all 8,000 events", () => tally([a, b]).size === 8_000, 20_000);
      await waitFor("a 4/4 split after the restart", () => balanced([a, b], 8), 3 * TTL);
      const c = await harness.join("c", pageSize);
      const joinedIn = await waitFor("c owns a shard", () => c.sub.shards().length > 0, 5_000);
      await waitFor("a 3/3/2 split", () => balanced([a, b, c], 8), 5_000);
      await harness.produce(8_000, 2_000);
      await waitFor("all 10,000 events", () => tally([a, b, c]).size === 10_000, 20_000);
      const counts = tally([a, b, c]);
      console.info(
        `redis restart: duplicates ${duplicates(counts)}, join after it got a shard in ${Math.round(joinedIn)} ms`,
      );
      expect(counts.size).toBe(10_000);
      expect(duplicates(counts)).toBeLessThanOrEqual(8 * pageSize);
      expect(joinedIn).toBeLessThan(2 * REBALANCE + TTL);
    },
    90_000,
  );
});
