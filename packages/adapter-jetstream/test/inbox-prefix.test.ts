import { TestProducer } from "@netmesh/adapter-testkit";
import { type ShardPage, silentLogger } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter } from "../src/index.js";
import { expectExactly, readAll } from "./support/adapter.js";
import { liveSignal, uniquePrefix } from "./support/nats.js";
import { type OwnServer, startOwnServer } from "./support/own-server.js";

// An account that may receive replies only under its own prefix, as `inboxPrefix` is documented for.
describe("inboxPrefix: an account whose replies must come under another prefix", () => {
  let server: OwnServer;
  beforeAll(async () => {
    server = await startOwnServer(`authorization {
  users = [
    { user: "scoped", password: "s-pass", permissions: { publish: { allow: [">"] }, subscribe: { allow: ["_MINE.>"] } } }
  ]
}`);
  });
  afterAll(() => server.stop());

  it("initialises, writes, reads (direct gets and sessions), follows, lists shards and coordinates a group", async () => {
    const adapter = new JetStreamAdapter({
      url: server.url("scoped", "s-pass"),
      prefix: uniquePrefix("inbox"),
      inboxPrefix: "_MINE",
      requestTimeoutMs: 2_000,
    });
    await adapter.init({ logger: silentLogger });
    try {
      const batch = new TestProducer().batch(
        0,
        Array.from({ length: 300 }, (_, i) => `{"i":${i}}`),
      );
      expect(await adapter.onBatch(batch, liveSignal())).toBeUndefined();
      expect(expectExactly(await readAll(adapter, 0, 10), [batch])).toBeUndefined();
      expect(expectExactly(await readAll(adapter, 0, 100), [batch])).toBeUndefined();
      const pages: ShardPage[] = [];
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), 5_000);
      for await (const page of adapter.readShard(0, undefined, { signal: controller.signal, limit: 1_000 })) {
        pages.push(page);
        if (page.nextId === "300") break;
      }
      clearTimeout(timer);
      expect(expectExactly(pages.flatMap((page) => page.events), [batch])).toBeUndefined();
      expect(await adapter.listShards()).toEqual([0]);
      const groups = adapter.coordination();
      await groups.heartbeat("g", "m", 5_000);
      expect(await groups.members("g")).toEqual(["m"]);
    } finally {
      await adapter.shutdown();
    }
  });

  it("takes the prefix from connectOptions.inboxPrefix when only that is given", async () => {
    const adapter = new JetStreamAdapter({
      url: server.url("scoped", "s-pass"),
      prefix: uniquePrefix("inbox"),
      connectOptions: { inboxPrefix: "_MINE" },
      requestTimeoutMs: 2_000,
    });
    await adapter.init({ logger: silentLogger });
    try {
      const batch = new TestProducer().batch(1, ['{"a":1}', '{"a":2}']);
      expect(await adapter.onBatch(batch, liveSignal())).toBeUndefined();
      expect(expectExactly(await readAll(adapter, 1, 10), [batch])).toBeUndefined();
    } finally {
      await adapter.shutdown();
    }
  });
});
