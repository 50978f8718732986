import { TestProducer } from "@netmesh/adapter-testkit";
import { createBus } from "@netmesh/core";
import { type StoredEvent, isAdapterError, silentLogger } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter } from "../src/index.js";
import { readAll, readyAdapter } from "./support/adapter.js";
import { deleteStreams, liveSignal, uniquePrefix } from "./support/nats.js";
import { type OwnServer, startOwnServer } from "./support/own-server.js";

const LARGE_PAYLOAD = 131_072;
const SMALL_PAYLOAD = 32_768;

/** Polls `condition` every 20 ms until it holds; fails after `ms`. */
async function waitFor(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The server a write lands on after a reconnect may take less than the one `init` asked: the same
 * port and store, started again with a smaller `max_payload` while a batch waits out the outage.
 */
describe("a reconnect onto a server with a smaller max_payload mid-attempt", () => {
  let server: OwnServer;
  beforeAll(async () => {
    server = await startOwnServer(`max_payload: ${LARGE_PAYLOAD}`);
  });
  afterAll(() => server?.stop());

  it("refuses only the events that no longer fit, as tooLarge; the bus stores the rest and counts every event", async () => {
    const adapter = new JetStreamAdapter({ url: server.url(), prefix: "payload" });
    const bus = await createBus({ adapter, shards: 1, logger: silentLogger });
    try {
      expect(adapter.capabilities.maxEventBytes).toBe(LARGE_PAYLOAD - 97);
      bus.ingest({ warm: 1 });
      await bus.flush();
      await server.kill();
      await waitFor(async () => !(await adapter.isHealthy()), 5_000, "the adapter sees the server gone");
      // Fits the first server, not the second one (the headers take up to 97 bytes more).
      const big = "x".repeat(SMALL_PAYLOAD);
      const values = [{ n: 0 }, { n: 1, big }, { n: 2 }, { n: 3, big }, { n: 4 }];
      for (const value of values) expect(bus.ingest(value)).toBe("accepted");
      // The batch reaches onBatch while the server is down, and waits there for the reconnect.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.start(`max_payload: ${SMALL_PAYLOAD}`);
      await bus.flush();
      const stats = bus.stats();
      expect(stats.ingested).toBe(6);
      expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
      expect(stats.dropped).toBe(2);
      expect(stats.droppedBy.tooLarge).toBe(2);
      const reader = new JetStreamAdapter({ url: server.url(), prefix: "payload" });
      await reader.init({ logger: silentLogger });
      let events: StoredEvent[];
      try {
        events = await readAll(reader, 0);
      } finally {
        await reader.shutdown();
      }
      expect(events.map((event) => event.json)).toEqual([
        '{"warm":1}',
        '{"n":0}',
        '{"n":2}',
        '{"n":4}',
      ]);
    } finally {
      await bus.shutdown();
    }
  });
});

describe("a maxBytes stream limit", () => {
  const prefix = uniquePrefix("budget");
  afterAll(() => deleteStreams(prefix));

  it("bounds maxEventBytes: an event the stream would discard at once is refused alone as tooLarge", async () => {
    const maxBytes = 4_096;
    const adapter = await readyAdapter(prefix, { maxBytes });
    try {
      // The budget less what the server counts besides the payload: 34 bytes of record, the longest
      // headers (97) and the longest subject of the prefix.
      const subject = `${prefix}.shard.65534`.length;
      const limit = adapter.capabilities.maxEventBytes;
      expect(limit).toBe(maxBytes - 34 - 97 - subject);
      const producer = new TestProducer();
      const fits = `"${"f".repeat(limit - 2)}"`;
      expect(await adapter.onBatch(producer.batch(0, [fits]), liveSignal())).toBeUndefined();
      expect((await readAll(adapter, 0)).map((event) => event.json)).toEqual([fits]);
      // Larger than the whole budget: stored, the server would discard it (and all before it) at once.
      const above = `"${"a".repeat(maxBytes)}"`;
      const result = await adapter.onBatch(producer.batch(0, ['{"n":1}', above, '{"n":2}']), liveSignal());
      expect(result?.rejected).toEqual([
        { index: 1, reason: "tooLarge", message: expect.stringMatching(new RegExp(`at most ${limit}$`)) },
      ]);
      const events = (await readAll(adapter, 0)).map((event) => event.json);
      expect(events.at(-2)).toBe('{"n":1}');
      expect(events.at(-1)).toBe('{"n":2}');
    } finally {
      await adapter.shutdown();
    }
  });

  it("a maxBytes that leaves no room for an event is refused by the constructor", () => {
    let caught: unknown;
    try {
      new JetStreamAdapter({ url: "nats://127.0.0.1:4222", prefix, maxBytes: 100 });
    } catch (error) {
      caught = error;
    }
    expect(isAdapterError(caught) && caught.kind).toBe("fatal");
    expect((caught as Error).message).toMatch(/maxBytes \(100\) leaves no room for an event/);
  });
});
