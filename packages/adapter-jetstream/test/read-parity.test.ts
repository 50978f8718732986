import { jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { TestProducer } from "@netmesh/adapter-testkit";
import { type ShardPage, silentLogger } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter, shardSubject } from "../src/index.js";
import { liveSignal, uniquePrefix } from "./support/nats.js";
import { type OwnServer, startServerWithoutConsumers } from "./support/own-server.js";

/** Every page of `shard` with pages of `limit`, as `[ids, nextId, hasMore]`. */
async function pagesOf(adapter: JetStreamAdapter, shard: number, limit: number) {
  const pages: [string[], string | undefined, boolean][] = [];
  let cursor: string | undefined;
  for (let n = 0; n < 1_000; n++) {
    const page: ShardPage = await adapter.pollShard(shard, cursor, limit);
    pages.push([page.events.map((event) => `${event.id}:${event.json}`), page.nextId, page.hasMore]);
    if (page.nextId !== undefined) cursor = page.nextId;
    if (!page.hasMore) return pages;
  }
  throw new Error("paging did not end");
}

// The same data read through read sessions (consumers) and with direct gets only (an account that may
// not create consumers) must give the same pages: events, cursors and hasMore.
describe("read sessions and direct gets return the same pages", () => {
  let server: OwnServer;
  beforeAll(async () => {
    server = await startServerWithoutConsumers();
  });
  afterAll(() => server.stop());

  it("over gaps and corrupt records, for pages of 64, 100 and 250", async () => {
    const prefix = uniquePrefix("parity");
    const sessions = new JetStreamAdapter({ url: server.url("writer", "w-pass"), prefix });
    const gets = new JetStreamAdapter({ url: server.url("noconsumers", "nc-pass"), prefix });
    await sessions.init({ logger: silentLogger });
    await gets.init({ logger: silentLogger });
    const raw = await connect({ servers: server.url(), user: "writer", pass: "w-pass" });
    try {
      const producer = new TestProducer();
      for (let round = 0; round < 3; round++) {
        await sessions.onBatch(
          producer.batch(0, Array.from({ length: 200 }, (_, i) => `{"r":${round},"i":${i}}`)),
          liveSignal(),
        );
        // Records of another writer: no headers, and a payload that is not JSON.
        const bad = headers();
        bad.set("Nats-Msg-Id", `00000000000000ff:0:${round}`);
        bad.set("Netmesh-Ts", "5");
        await raw.request(shardSubject(prefix, 0), '{"no":"headers"}', { timeout: 5_000 });
        await raw.request(shardSubject(prefix, 0), "not json", { timeout: 5_000, headers: bad });
      }
      const jsm = await jetstreamManager(raw);
      for (const seq of [1, 64, 65, 66, 100, 250, 251, 400, 605, 606]) {
        await jsm.streams.deleteMessage(sessions.streamName(0), seq, false);
      }
      for (const limit of [64, 100, 250]) {
        const viaSessions = await pagesOf(sessions, 0, limit);
        const viaGets = await pagesOf(gets, 0, limit);
        expect(viaSessions, `limit ${limit}`).toEqual(viaGets);
        // 600 events written, 8 of them deleted (the other two deletions were corrupt records).
        expect(viaSessions.flatMap(([ids]) => ids)).toHaveLength(592);
      }
    } finally {
      await raw.close();
      await gets.shutdown();
      await sessions.shutdown();
    }
  });
});
