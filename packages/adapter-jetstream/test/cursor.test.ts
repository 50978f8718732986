import { jetstreamManager } from "@nats-io/jetstream";
import { TestProducer } from "@netmesh/adapter-testkit";
import { isAdapterError } from "@netmesh/core/adapter";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_SEQUENCE, isAfterSequence, parseCursor } from "../src/cursor.js";
import { readyAdapter } from "./support/adapter.js";
import { NATS_URL, deleteStreams, liveSignal, uniquePrefix, withConnection } from "./support/nats.js";

const U64_MAX = "18446744073709551615";

describe("parseCursor", () => {
  it("reads decimal sequences exactly, beyond 2^53 included", () => {
    expect(parseCursor(undefined)).toBe(0n);
    expect(parseCursor("0")).toBe(0n);
    expect(parseCursor("9007199254740993")).toBe(9007199254740993n); // 2^53 + 1: Number() would give 2^53
    expect(parseCursor(U64_MAX)).toBe(MAX_SEQUENCE);
  });

  it("refuses what is not a u64 sequence with a non-retryable error", () => {
    for (const bad of [
      "",
      "-1",
      "01",
      "1.5",
      "1e3",
      " 1",
      "18446744073709551616",
      "99999999999999999999",
      "abc",
    ]) {
      let caught: unknown;
      try {
        parseCursor(bad);
      } catch (error) {
        caught = error;
      }
      expect(isAdapterError(caught), JSON.stringify(bad)).toBe(true);
      expect((caught as { kind: string }).kind, JSON.stringify(bad)).toBe("fatal");
    }
  });
});

/** Makes the stream's next sequence `next` (a purge up to `next` leaves it empty, starting there). */
async function startStreamAt(stream: string, next: string): Promise<void> {
  await withConnection(NATS_URL, async (nc) => {
    // Written by hand: the client's JSON.stringify would round a sequence above 2^53.
    const reply = await nc.request(`$JS.API.STREAM.PURGE.${stream}`, `{"seq":${next}}`, { timeout: 5_000 });
    const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { success?: boolean };
    if (answer.success !== true) throw new Error(`purge failed: ${new TextDecoder().decode(reply.data)}`);
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    // The client's number for first_seq may be rounded; it only has to be near.
    expect(info.state.messages).toBe(0);
  });
}

describe("u64 cursors against a real stream", () => {
  const prefix = uniquePrefix("u64");
  afterAll(() => deleteStreams(prefix));

  it("a cursor of 2^64-1 returns the empty page instead of wrapping to the start", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      await adapter.onBatch(new TestProducer().batch(0, ['{"a":1}', '{"a":2}']), liveSignal());
      const page = await adapter.pollShard(0, U64_MAX, 10);
      expect(page).toEqual({ events: [], nextId: undefined, hasMore: false });
      // …while the start of the stream is still there.
      expect((await adapter.pollShard(0, undefined, 10)).events).toHaveLength(2);
    } finally {
      await adapter.shutdown();
    }
  });

  it("sequences just above 2^53 are ids and cursors exactly, never rounded", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      await adapter.onBatch(producer.batch(1, ['{"warm":1}']), liveSignal());
      await startStreamAt(adapter.streamName(1), "9007199254740993");
      const batch = producer.batch(1, ['{"n":0}', '{"n":1}', '{"n":2}']);
      await adapter.onBatch(batch, liveSignal());
      const all = await adapter.pollShard(1, undefined, 10);
      expect(all.events.map((e) => e.id)).toEqual([
        "9007199254740993",
        "9007199254740994",
        "9007199254740995",
      ]);
      // Number("9007199254740993") is 9007199254740992: a rounding cursor would return n=0 again.
      const after = await adapter.pollShard(1, "9007199254740993", 10);
      expect(after.events.map((e) => e.json)).toEqual(['{"n":1}', '{"n":2}']);
      expect(after.nextId).toBe("9007199254740995");
      const limited = await adapter.pollShard(1, "9007199254740994", 1);
      expect(limited).toMatchObject({ nextId: "9007199254740995", hasMore: false });
    } finally {
      await adapter.shutdown();
    }
  });

  // nats-server 2.9 keeps sequences in signed 64-bit places and serves nothing from 2^63-1 on, so the
  // highest sequences a real stream can be read at are just below it.
  it("reads sequences near 2^63 exactly and pages across them", async () => {
    const adapter = await readyAdapter(prefix);
    try {
      const producer = new TestProducer();
      await adapter.onBatch(producer.batch(2, ['{"warm":1}']), liveSignal());
      await startStreamAt(adapter.streamName(2), "9223372036854775800");
      await adapter.onBatch(producer.batch(2, ['{"high":0}', '{"high":1}']), liveSignal());
      const page = await adapter.pollShard(2, undefined, 1);
      expect(page.events.map((e) => e.id)).toEqual(["9223372036854775800"]);
      expect(page).toMatchObject({ nextId: "9223372036854775800", hasMore: true });
      const last = await adapter.pollShard(2, page.nextId, 5);
      expect(last.events.map((e) => [e.id, e.json])).toEqual([["9223372036854775801", '{"high":1}']]);
      expect(last).toMatchObject({ nextId: "9223372036854775801", hasMore: false });
      expect(await adapter.pollShard(2, last.nextId, 5)).toEqual({
        events: [],
        nextId: undefined,
        hasMore: false,
      });
    } finally {
      await adapter.shutdown();
    }
  });
});

describe("isAfterSequence", () => {
  it("orders sequences in the server's digits as the numbers they name, beyond 2^53 too", () => {
    const ordered = [
      "0",
      "1",
      "9",
      "10",
      "99",
      "100",
      "9007199254740992",
      "9007199254740993",
      "18446744073709551615",
    ];
    for (const [i, a] of ordered.entries()) {
      for (const [j, b] of ordered.entries()) {
        expect(isAfterSequence(a, b), `${a} after ${b}`).toBe(i > j);
        expect(isAfterSequence(a, b)).toBe(BigInt(a) > BigInt(b));
      }
    }
  });
});
