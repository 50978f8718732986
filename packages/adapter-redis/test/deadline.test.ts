import { createBus } from "@netmesh/core";
import { silentLogger } from "@netmesh/core/adapter";
import { afterAll, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { readAll, sleep } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

const servers: OwnRedis[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

// shutdown({ deadlineMs }) holds its deadline whatever the backend does, and its report is exact:
// everything stored was counted dispatched or uncertain, and nothing counted dispatched is missing.
describe("shutdown deadline against a dead server", () => {
  it.each([1_000, 3_000])(
    "returns within %i ms + 100 ms after Redis was killed for good",
    async (deadlineMs) => {
      const server = await startOwnRedis(["--appendonly", "yes", "--appendfsync", "always"]);
      servers.push(server);
      const adapter = new RedisAdapter({ url: server.url(), prefix: `deadline-${deadlineMs}` });
      const bus = await createBus({ adapter, shards: 4 });
      for (let i = 0; i < 4_000; i++) bus.ingest({ i }, { key: `k${i % 64}` });
      await bus.flush();
      await server.kill();
      for (let i = 4_000; i < 8_000; i++) bus.ingest({ i }, { key: `k${i % 64}` });
      await sleep(200); // batches are in flight against the dead server
      const started = performance.now();
      const report = await bus.shutdown({ deadlineMs });
      const took = performance.now() - started;
      expect(took).toBeLessThan(deadlineMs + 100);
      const { stats } = report;
      expect(stats.pending).toBe(0);
      expect(stats.ingested).toBe(8_000);
      expect(stats.dispatched + stats.dropped).toBe(8_000);
      expect(report.lost + report.uncertain).toBe(stats.dropped);
      // What the backend holds after a restart: every dispatched event, plus at most the uncertain ones.
      await server.restart();
      const reader = new RedisAdapter({ url: server.url(), prefix: `deadline-${deadlineMs}` });
      await reader.init({ logger: silentLogger });
      let stored = 0;
      for (let shard = 0; shard < 4; shard++) stored += (await readAll(reader, shard)).length;
      await reader.shutdown();
      expect(stored).toBeGreaterThanOrEqual(stats.dispatched);
      expect(stored).toBeLessThanOrEqual(stats.dispatched + report.uncertain);
    },
  );
});
