import { jetstreamManager } from "@nats-io/jetstream";
import { type Reader, type StoredEvent, createBus, createReader, silentLogger } from "@netmesh/core";
import { compareIds } from "@netmesh/core/adapter";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { JetStreamAdapter } from "../src/index.js";
import { NATS_URL, deleteStreams, uniquePrefix, withConnection } from "./support/nats.js";

const TTL = 1_500;
const prefixes: string[] = [];
const readers: Reader[] = [];

afterEach(async () => {
  await Promise.all(readers.splice(0).map((reader) => reader.close()));
});
afterAll(async () => {
  for (const prefix of prefixes) {
    await deleteStreams(prefix);
    await withConnection(NATS_URL, async (nc) => {
      await (await jetstreamManager(nc)).streams.delete(`KV_${prefix}_groups`).catch(() => false);
    });
  }
});

/** Blocks the event loop (a synchronous loop body, a long GC pause, a stopped process). */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

async function member(prefix: string, name: string) {
  const reader = await createReader({
    adapter: new JetStreamAdapter({ url: NATS_URL, prefix }),
    logger: silentLogger,
  });
  readers.push(reader);
  return reader.subscribe({ group: "g", member: name, leaseTtlMs: TTL, rebalanceMs: 50, pageSize: 10 });
}

describe("consumer groups on JetStream: a member that fenced itself", () => {
  it("releases its lease, so a member that just started watching takes the shard over at once, not a TTL later", async () => {
    const prefix = uniquePrefix("gfence");
    prefixes.push(prefix);
    const bus = await createBus({ adapter: new JetStreamAdapter({ url: NATS_URL, prefix }), shards: 1 });
    for (let i = 0; i < 100; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.shutdown();

    const a = await member(prefix, "a");
    let inHand: StoredEvent | undefined;
    let seen = 0;
    for await (const event of a) {
      if (++seen === 25) {
        inHand = event;
        block(TTL + 200); // a's lease runs out by its own clock; nothing renewed it
        break; // close(): the shard is released (without a position: past the deadline)
      }
    }
    // b starts watching only now: it would count a lease left behind as live for a whole TTL.
    const closedAt = performance.now();
    const b = await member(prefix, "b");
    let first: StoredEvent | undefined;
    for await (const event of b) {
      first = event;
      break;
    }
    const takeoverMs = performance.now() - closedAt;
    // Nothing lost: b resumes at or before the event a had in hand (its page was not checkpointed).
    expect(first).toBeDefined();
    expect(compareIds(first!.id, inHand!.id)).toBeLessThanOrEqual(0);
    expect(takeoverMs).toBeLessThan(TTL / 2);
  });
});
