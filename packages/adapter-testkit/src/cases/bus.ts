import { type Adapter, type Logger, type StoredEvent, parseMessageId } from "@netmesh/core/adapter";
import { type EventBus, type PollRequest, createBus } from "@netmesh/core";
import { expect } from "vitest";
import { type CaseDefinition, needsReadable } from "../case.js";
import type { CaseContext } from "../case-context.js";
import { expectSameText } from "../expect-events.js";
import { readShard } from "../read-shard.js";

const EVENTS = 10_000;
const KEYS = 50;
const SHARDS = 4;

/** What was ingested, per partition key: the exact JSON texts, in ingest order. */
type Ingested = Map<string, string[]>;

/** A logger keeping the bus's warnings and errors, to explain a failed delivery. */
function recordingLogger(lines: string[]): Logger {
  const keep = (fields: Record<string, unknown>, message: string) => {
    if (lines.length < 20) lines.push(`${message} ${JSON.stringify(fields)}`);
  };
  return { debug: () => {}, info: () => {}, warn: keep, error: keep };
}

function ingest(bus: EventBus): Ingested {
  const ingested: Ingested = new Map();
  const options = Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}` }));
  for (let i = 0; i < EVENTS; i++) {
    // A deterministic but irregular key sequence, so shards get uneven, interleaved traffic.
    const k = (i * 31 + (i >> 4)) % KEYS;
    const key = options[k]!.key;
    const texts = ingested.get(key) ?? [];
    const value = { key, n: texts.length, i, note: i % 97 === 0 ? "ünïcødé ☃ 😀" : "plain" };
    const status = bus.ingest(value, options[k]!);
    if (status !== "accepted") throw new Error(`ingest of event ${i} returned "${status}"`);
    texts.push(JSON.stringify(value));
    ingested.set(key, texts);
  }
  return ingested;
}

async function readAll(adapter: Adapter): Promise<StoredEvent[][]> {
  const shards: StoredEvent[][] = [];
  for (let shard = 0; shard < SHARDS; shard++) {
    shards.push((await readShard(adapter, shard, { limit: 1000, expectedAtMost: EVENTS })).events);
  }
  return shards;
}

/** Every ingested event exactly once, on its key's shard, byte for byte, and (if ordered) in key order. */
function expectDelivered(
  stored: StoredEvent[][],
  ingested: Ingested,
  bus: EventBus,
  context: CaseContext,
): void {
  const ordered = context.features.ordering === "shard";
  const seen = new Map<string, Set<number>>();
  for (const [shard, events] of stored.entries()) {
    let lastTimestamp = Number.NEGATIVE_INFINITY;
    for (const [i, event] of events.entries()) {
      const where = `shard ${shard}, event ${i}`;
      const { key, n } = JSON.parse(event.json) as { key: string; n: number };
      expect(bus.shardFor(key), `${where}: key ${key} belongs to another shard`).toBe(shard);
      const texts = ingested.get(key)!;
      const got = seen.get(key) ?? new Set<number>();
      seen.set(key, got);
      if (got.has(n)) throw new Error(`${where}: event ${n} of ${key} read back twice`);
      if (ordered && n !== got.size)
        throw new Error(`${where}: event ${n} of ${key} came before event ${got.size}`);
      got.add(n);
      expectSameText(event.json, texts[n]!, where);
      if (ordered) {
        expect(event.timestamp, `${where}: timestamps must increase within a shard`).toBeGreaterThan(
          lastTimestamp,
        );
        lastTimestamp = event.timestamp;
      }
      if (event.messageId !== undefined) {
        const parts = parseMessageId(event.messageId);
        expect(parts?.producer, `${where}: messageId ${event.messageId} names the bus's producer`).toBe(
          bus.producer,
        );
        expect(parts?.shard, `${where}: messageId ${event.messageId} names the shard`).toBe(shard);
      }
    }
  }
  for (const [key, texts] of ingested) {
    const count = seen.get(key)?.size ?? 0;
    if (count !== texts.length) throw new Error(`key ${key}: ${count} of ${texts.length} events read back`);
  }
}

/** Pages through everything with `bus.poll`; returns each shard's events in delivery order, and all of them. */
async function pageAll(bus: EventBus, request: Omit<PollRequest, "cursor">) {
  const byShard: StoredEvent[][] = Array.from({ length: SHARDS }, () => []);
  const all: StoredEvent[] = [];
  let cursor: string | undefined;
  for (let polls = 0; ; polls++) {
    if (polls > EVENTS * 2) throw new Error(`bus.poll(${JSON.stringify(request)}) does not terminate`);
    const result = await bus.poll({ ...request, ...(cursor !== undefined && { cursor }) });
    expect(result.failedShards, "bus.poll failedShards").toEqual([]);
    expect(result.events.length, "bus.poll returned more than its limit").toBeLessThanOrEqual(request.limit);
    for (const event of result.events) {
      byShard[event.shard]!.push(event);
      all.push(event);
    }
    cursor = result.cursor;
    if (!result.hasMore) return { byShard, all };
  }
}

/** The adapter under a real bus, the way applications use it. */
export const busCases: readonly CaseDefinition[] = [
  {
    id: "bus.round-trip",
    title: `a bus with this adapter delivers ${EVENTS} keyed events exactly once, in per-key order, losing none`,
    async run(context) {
      const adapter = await context.create();
      const log: string[] = [];
      // The bus calls init itself: the adapter is handed over fresh, as an application would.
      const bus = await createBus({
        adapter,
        shards: SHARDS,
        batch: { maxDelayMs: 2 },
        logger: recordingLogger(log),
      });
      try {
        const ingested = ingest(bus);
        await bus.flush();
        const stats = bus.stats();
        const why = `bus log: ${log.join(" | ") || "(empty)"}`;
        expect(stats.dropped, `events dropped after flush; ${why}`).toBe(0);
        expect(stats.pending, `events pending after flush; ${why}`).toBe(0);
        expect(stats.dispatched, `events dispatched after flush; ${why}`).toBe(EVENTS);
        expect(await bus.isHealthy(), "bus.isHealthy() with the adapter running").toBe(true);
        let stored: StoredEvent[][] | undefined;
        if (context.features.readable) {
          stored = await readAll(adapter);
          expectDelivered(stored, ingested, bus, context);
        }
        const report = await bus.shutdown();
        expect(
          report.errors.map((error) => error.message),
          "adapter flush/shutdown errors",
        ).toEqual([]);
        expect(report.lossy, `report.lossy; ${why}`).toBe(false);
        expect(report.stats.ingested, "stats.ingested").toBe(EVENTS);
        expect(report.stats.dispatched, "stats.dispatched = stats.ingested").toBe(report.stats.ingested);
        if (context.features.persistent && stored !== undefined) {
          // After the bus is gone, a fresh instance (a consumer) sees the same events in the same order.
          const again = await readAll(await context.ready());
          expectDelivered(again, ingested, bus, context);
          for (let shard = 0; shard < SHARDS; shard++) {
            const ids = again[shard]!.map((event) => event.id);
            expect(ids, `shard ${shard}: ids read after the bus shut down`).toEqual(
              stored[shard]!.map((e) => e.id),
            );
          }
        }
      } finally {
        // Stop the pumps even when a check failed; a no-op after the shutdown above.
        await bus.shutdown({ deadlineMs: 1_000 }).catch(() => {});
      }
    },
  },
  {
    id: "bus.poll",
    title:
      "bus.poll pages every shard with a small limit, in insertion order and with a filter: each event once",
    skip: needsReadable,
    async run(context) {
      const bus = await createBus({
        adapter: await context.create(),
        shards: SHARDS,
        batch: { maxDelayMs: 2 },
      });
      try {
        const ingested = ingest(bus);
        await bus.flush();
        expect(bus.stats().dispatched, "events dispatched after flush").toBe(EVENTS);

        const small = await pageAll(bus, { limit: 7 });
        expectDelivered(small.byShard, ingested, bus, context);

        const timed = await pageAll(bus, { limit: 100, order: "insertion" });
        expectDelivered(timed.byShard, ingested, bus, context);
        if (context.features.ordering === "shard") {
          for (let i = 1; i < timed.all.length; i++) {
            expect(
              timed.all[i]!.timestamp,
              `insertion order: event ${i} is older than event ${i - 1}`,
            ).toBeGreaterThanOrEqual(timed.all[i - 1]!.timestamp);
          }
        }

        const unicode = [...ingested.values()].flat().filter((text) => !text.includes('"plain"'));
        const filtered = await pageAll(bus, {
          limit: 50,
          filter: { $not: { path: "note", value: "plain" } },
        });
        expect(
          filtered.all.map((event) => event.json).sort(),
          "filtered poll: exactly the matching events",
        ).toEqual(unicode.sort());
      } finally {
        await bus.shutdown({ deadlineMs: 1_000 }).catch(() => {});
      }
    },
  },
];
