import {
  MemoryAdapter,
  MemoryStore,
  type StoredEvent,
  createBus,
  createReader,
  formatMessageId,
} from "@netmesh/core";
import { beforeAll, describe, expect, it } from "vitest";
import { METRICS_SOURCE } from "../src/events.js";
import { ACCEPTED, Ledger, REFUSED } from "../src/ledger.js";
import { readBack } from "../src/read-back.js";
import { Sender } from "../src/sender.js";
import { verifyReadBack } from "../src/verify.js";
import { Workload } from "../src/workload.js";

const PRODUCER = "00000000000000aa";

/** A hand-made stored event of session `session` (or of the metrics source) at `seq`. */
function stored(shard: number, sequence: number, body: Record<string, unknown>): StoredEvent {
  return {
    id: String(sequence + 1),
    shard,
    timestamp: 1_700_000_000_000_000 + sequence,
    json: JSON.stringify(body),
    messageId: formatMessageId(PRODUCER, shard, sequence),
  };
}

/**
 * Two sessions on shards 0 and 1 (four events each) and two unkeyed heartbeats, all accepted, and
 * the read-back a correct adapter would return.
 */
function fixture() {
  const ledger = new Ledger();
  const a = ledger.open("sess_a", { ordered: true, shard: 0, label: "chat" });
  const b = ledger.open("sess_b", { ordered: true, shard: 1, label: "agent" });
  const metrics = ledger.open(METRICS_SOURCE, { ordered: false, label: "metrics" });
  ledger.record(a, 0, 4, ACCEPTED);
  ledger.record(b, 0, 4, ACCEPTED);
  ledger.record(metrics, 0, 2, ACCEPTED);
  const events = [
    ...[0, 1, 2, 3].map((seq) => stored(0, seq, { type: "token", session: "sess_a", seq })),
    stored(0, 4, { type: "metrics", source: METRICS_SOURCE, seq: 1 }),
    ...[0, 1, 2, 3].map((seq) => stored(1, seq, { type: "token", session: "sess_b", seq })),
    stored(1, 4, { type: "metrics", source: METRICS_SOURCE, seq: 0 }),
  ];
  return { ledger, events, counters: { ingested: 10, dispatched: 10, dropped: 0 } };
}

describe("verifyReadBack on hand-made read-backs", () => {
  it("accepts a complete, ordered read-back (unkeyed events in any order)", () => {
    const { ledger, events, counters } = fixture();
    const v = verifyReadBack(ledger, events, counters);
    expect(v.issues).toEqual({});
    expect(v.ok).toBe(true);
    expect(v.streams).toEqual({
      chat: { streams: 1, verified: 1 },
      agent: { streams: 1, verified: 1 },
      metrics: { streams: 1, verified: 1 },
    });
    expect(v.perShard).toEqual({ 0: 5, 1: 5 });
    expect(v.eventTypes).toEqual({ token: 8, metrics: 2 });
  });

  it("detects a missing event", () => {
    const { ledger, events, counters } = fixture();
    const v = verifyReadBack(ledger, events.toSpliced(2, 1), { ...counters, dispatched: 9 });
    expect(v.ok).toBe(false);
    expect(v.issues).toEqual({ missing: 1 });
    expect(v.examples).toContain("sess_a seq 2: accepted but never came back");
    expect(v.streams.chat).toEqual({ streams: 1, verified: 0 });
  });

  it("detects a missing event even when the bus's count agrees with the read-back", () => {
    const { ledger, events, counters } = fixture();
    const v = verifyReadBack(ledger, events.toSpliced(9, 1), { ...counters, dispatched: 9 });
    expect(v.issues).toEqual({ missing: 1 });
    expect(v.streams.metrics).toEqual({ streams: 1, verified: 0 });
  });

  it("detects two events of a session swapped", () => {
    const { ledger, events, counters } = fixture();
    const swapped = [...events];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    const v = verifyReadBack(ledger, swapped, counters);
    expect(v.ok).toBe(false);
    expect(v.issues).toEqual({ outOfOrder: 1 });
    expect(v.examples).toEqual(["sess_a seq 1: came back after seq 2"]);
  });

  it("detects an event stored twice, by stream and seq and by message id", () => {
    const { ledger, events, counters } = fixture();
    const resent = { ...events[3]!, id: "99", messageId: formatMessageId(PRODUCER, 0, 99) };
    const v1 = verifyReadBack(ledger, [...events, resent], { ...counters, dispatched: 11 });
    expect(v1.issues).toEqual({ duplicate: 1 });
    const sameId = { ...events[0]!, json: JSON.stringify({ type: "token", session: "sess_a", seq: 4 }) };
    const v2 = verifyReadBack(ledger, [...events, sameId], { ...counters, dispatched: 11 });
    expect(v2.issues).toMatchObject({ duplicateMessageId: 1 });
  });

  it("detects refused, unknown, unparseable and misrouted events", () => {
    const { ledger, events, counters } = fixture();
    const c = ledger.open("sess_c", { ordered: true, shard: 0, label: "chat" });
    ledger.record(c, 0, 1, REFUSED);
    const extra = [
      stored(0, 5, { type: "token", session: "sess_c", seq: 0 }), // refused, yet stored
      stored(0, 6, { type: "token", session: "sess_zz", seq: 0 }), // never sent
      stored(0, 7, { type: "token", session: "sess_a", seq: 17 }), // seq never sent
      { ...stored(0, 8, {}), json: "{not json" },
      { ...stored(0, 9, {}), json: '{"type":"token"}' },
    ];
    const misrouted = events.map((event, i) =>
      i === 0 ? { ...event, shard: 1, messageId: formatMessageId(PRODUCER, 1, 50) } : event,
    );
    const v = verifyReadBack(ledger, [...misrouted, ...extra], { ...counters, dispatched: 15 });
    expect(v.issues).toEqual({ refusedStored: 1, unexpected: 2, unparseable: 2, wrongShard: 1 });
  });

  it("detects counts that do not reconcile with the bus and drops", () => {
    const { ledger, events } = fixture();
    const v = verifyReadBack(ledger, events, { ingested: 11, dispatched: 9, dropped: 1 });
    expect(v.issues).toEqual({ countMismatch: 2, dropped: 1 });
  });

  it("detects malformed message ids", () => {
    const { ledger, events, counters } = fixture();
    const bad = events.map((event, i) => (i === 0 ? { ...event, messageId: "nope" } : event));
    expect(verifyReadBack(ledger, bad, counters).issues).toEqual({ badMessageId: 1 });
  });

  it("reconciles partly accepted bursts by count", () => {
    const ledger = new Ledger();
    const a = ledger.open("sess_a", { ordered: true, shard: 0, label: "chat" });
    ledger.recordUnknown(a, 0, 4, 2);
    const events = [1, 3].map((seq) => stored(0, seq, { type: "token", session: "sess_a", seq }));
    const counters = { ingested: 2, dispatched: 2, dropped: 0 };
    expect(verifyReadBack(ledger, events, counters).ok).toBe(true);
    expect(verifyReadBack(ledger, events.slice(1), { ...counters, dispatched: 1 }).issues).toEqual({
      missing: 1,
    });
  });
});

describe("verifyReadBack on a real read-back", () => {
  let ledger: Ledger;
  let events: StoredEvent[];
  let counters: { ingested: number; dispatched: number; dropped: number };

  beforeAll(async () => {
    const store = new MemoryStore();
    const bus = await createBus({ adapter: new MemoryAdapter({ store }), shards: 3, backpressure: "block" });
    const workload = new Workload({ sessions: 10, events: 5_000, seed: 3 }, (key) => bus.shardFor(key));
    const sender = new Sender(bus, workload.ledger, "block");
    for (let step = workload.next(); step !== undefined; step = workload.next()) await sender.send(step);
    await bus.flush();
    counters = bus.stats();
    events = [];
    // Read through a reader of its own over the same store, as another process would.
    const reader = await createReader({ adapter: new MemoryAdapter({ store }) });
    const read = await readBack(reader, counters.dispatched, (event) => events.push(event), {
      pageSize: 700,
    });
    expect(read.problems).toEqual([]);
    expect(read.pages).toBeGreaterThan(5);
    await reader.close();
    await bus.shutdown();
    ledger = workload.ledger;
  });

  it("passes as read", () => {
    const v = verifyReadBack(ledger, events, counters);
    expect(v.issues).toEqual({});
    expect(v.ok).toBe(true);
    expect(v.readBack).toBe(counters.dispatched);
  });

  it("fails when one event is missing", () => {
    const v = verifyReadBack(ledger, events.toSpliced(1234, 1), counters);
    expect(v.ok).toBe(false);
    expect(v.issues.missing).toBe(1);
    expect(v.issues.countMismatch).toBe(1); // 4,999 read, 5,000 dispatched
  });

  it("fails when two events of a session are swapped", () => {
    // Find two neighbours of the same session, as they sit in one shard's log.
    const session = (event: StoredEvent) => (JSON.parse(event.json) as { session?: string }).session;
    const i = events.findIndex(
      (event, k) => k > 100 && session(event) !== undefined && session(event) === session(events[k + 1]!),
    );
    const swapped = [...events];
    [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
    const v = verifyReadBack(ledger, swapped, counters);
    expect(v.ok).toBe(false);
    expect(v.issues).toEqual({ outOfOrder: 1 });
  });
});
