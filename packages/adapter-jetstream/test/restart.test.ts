import { type PrivateServer, startNats } from "@netmesh/test-backends";
import { createBus } from "@netmesh/core";
import type { StoredEvent } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter } from "../src/index.js";
import { readAll } from "./support/adapter.js";
import { type LogLine, recordingLogger, uniquePrefix } from "./support/nats.js";

const EVENTS = 30_000;
const SHARDS = 4;
const CHUNK = 500;

describe("a private nats-server restarted while the bus is ingesting", () => {
  let server: PrivateServer;
  beforeAll(async () => {
    server = await startNats();
  });
  afterAll(() => server?.stop());

  it("loses nothing and stores every event exactly once after the retries", async () => {
    const prefix = uniquePrefix("restart");
    const busLog: LogLine[] = [];
    const adapter = new JetStreamAdapter({
      url: server.url,
      prefix,
      requestTimeoutMs: 2_000,
      // Reconnect quickly, so the test does not wait out the client's default 2 s between attempts.
      connectOptions: { reconnectTimeWait: 100 },
    });
    const bus = await createBus({
      adapter,
      shards: SHARDS,
      backpressure: "block",
      retries: 60,
      retryBaseDelayMs: 50,
      retryMaxDelayMs: 400,
      adapterTimeoutMs: 5_000,
      logger: recordingLogger(busLog),
    });
    let restarted = false;
    try {
      const texts = Array.from({ length: EVENTS }, (_, i) => JSON.stringify({ i, key: `k${i % 97}` }));
      for (let from = 0; from < EVENTS; from += CHUNK) {
        const chunk = texts.slice(from, from + CHUNK).map((json) => JSON.parse(json) as unknown);
        const accepted = await bus.ingestManyOrWait(chunk, {
          key: (value) => (value as { key: string }).key,
        });
        expect(accepted).toBe(chunk.length);
        if (from === EVENTS / 3) {
          // Mid-stream: SIGKILL the server and start it again on the same port with the same store.
          await server.restart();
          restarted = true;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await bus.flush();
      const stats = bus.stats();
      expect(restarted).toBe(true);
      expect(stats.dropped, JSON.stringify(busLog.slice(0, 5))).toBe(0);
      expect(stats.dispatched).toBe(EVENTS);
      // The restart did hit batches in flight: the bus logged retries.
      expect(busLog.some((line) => line.message === "batch failed, retrying")).toBe(true);

      const stored: StoredEvent[] = [];
      for (let shard = 0; shard < SHARDS; shard++) {
        const events = await readAll(adapter, shard);
        // Per shard, message ids carry gap-free sequences: in order and each once means no loss, no copy.
        const sequences = events.map((event) => Number(event.messageId!.split(":")[2]));
        expect(sequences).toEqual(sequences.map((_, index) => index));
        stored.push(...events);
      }
      expect(stored).toHaveLength(EVENTS);
      const seen = new Set(stored.map((event) => (JSON.parse(event.json) as { i: number }).i));
      expect(seen.size).toBe(EVENTS);
      const report = await bus.shutdown();
      expect(report.lossy).toBe(false);
    } finally {
      await bus.shutdown({ deadlineMs: 1_000 }).catch(() => {});
    }
  }, 120_000);
});
