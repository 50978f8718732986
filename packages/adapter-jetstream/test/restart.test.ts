import { createBus } from "@netmesh/core";
import type { StoredEvent } from "@netmesh/core/adapter";
import { type PrivateServer, startNats } from "@netmesh/test-backends";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter } from "../src/index.js";
import { readAll } from "./support/adapter.js";
import { type LogLine, recordingLogger, uniquePrefix } from "./support/nats.js";

const EVENTS = 50_000;
const SHARDS = 4;
const CHUNK = 500;
const BURST = 20_000;
/** Pause between chunks, ms: ingestion spans the outage (about 4 s for the whole run). */
const PACE_MS = 40;

/**
 * A private nats-server (JetStream, file storage) is SIGKILLed while a bus ingests and started again,
 * same port and store, `outageMs` later. Bus and adapter run with their default options: no retry,
 * timeout or reconnect setting is tuned for the test. The adapter waits out the outage within each
 * attempt (the bus's `adapterTimeoutMs`, 10 s), so the bus's default retries are never exhausted.
 */
describe.each([2_000, 5_000])(
  "a nats-server restarted after %i ms while a bus ingests, default options",
  (outageMs) => {
    let server: PrivateServer;
    beforeAll(async () => {
      server = await startNats();
    });
    afterAll(() => server?.stop());

    it(`stores all ${EVENTS} events over ${SHARDS} shards exactly once and drops none`, async () => {
      const prefix = uniquePrefix("restart");
      const busLog: LogLine[] = [];
      const adapter = new JetStreamAdapter({ url: server.url, prefix });
      const bus = await createBus({
        adapter,
        shards: SHARDS,
        backpressure: "block",
        logger: recordingLogger(busLog),
      });
      try {
        const texts = Array.from({ length: EVENTS }, (_, i) => JSON.stringify({ i, key: `k${i % 97}` }));
        let outage: Promise<void> | undefined;
        let killedAt = 0;
        let backAt = 0;
        let reconnectedAt = 0;
        const started = performance.now();
        const killAt = Math.floor(EVENTS / 5 / CHUNK) * CHUNK;
        for (let from = 0; from < EVENTS; ) {
          // At the kill, a burst: batches of thousands of events are in flight when the server dies.
          const size = from === killAt ? BURST : CHUNK;
          const chunk = texts.slice(from, from + size).map((json) => JSON.parse(json) as unknown);
          const accepted = await bus.ingestManyOrWait(chunk, {
            key: (value) => (value as { key: string }).key,
          });
          expect(accepted).toBe(chunk.length);
          if (from === killAt) {
            // SIGKILL, then the same server again after outageMs; ingestion goes on meanwhile.
            outage = (async () => {
              await new Promise((resolve) => setTimeout(resolve, 15)); // the burst's batches are on the wire
              await server.kill();
              killedAt = performance.now();
              await new Promise((resolve) => setTimeout(resolve, outageMs));
              await server.restart();
              backAt = performance.now();
              while (!(await adapter.isHealthy())) await new Promise((resolve) => setTimeout(resolve, 10));
              reconnectedAt = performance.now();
            })();
          }
          from += chunk.length;
          await new Promise((resolve) => setTimeout(resolve, PACE_MS));
        }
        await outage;
        await bus.flush();
        const flushedAt = performance.now();
        const stats = bus.stats();
        const retries = busLog.filter((line) => line.message === "batch failed, retrying").length;
        console.info(
          `restart after ${outageMs} ms: server down ${Math.round(backAt - killedAt)} ms, adapter reconnected ` +
            `${Math.round(reconnectedAt - backAt)} ms after it listened again; ingest and flush took ` +
            `${Math.round(flushedAt - started)} ms (paced over ~${Math.round((((EVENTS - BURST) / CHUNK) * PACE_MS) / 1000)} s); ` +
            `bus: dispatched ${stats.dispatched}, dropped ${stats.dropped}, ${retries} retried attempts; ` +
            `adapter: ${adapter.publishCounters.stored} stored, ${adapter.publishCounters.duplicates} duplicate acks`,
        );
        expect(
          stats.dropped,
          JSON.stringify(busLog.filter((line) => line.level !== "debug").slice(0, 5)),
        ).toBe(0);
        expect(stats.dispatched).toBe(EVENTS);
        // Acks lost with the server: the windows were published again and acked as duplicates.
        const { stored: newlyStored, duplicates } = adapter.publishCounters;
        expect(newlyStored + duplicates).toBe(EVENTS);

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
    }, 90_000);
  },
);
