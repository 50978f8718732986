import { describe, expect, it } from "vitest";
import { type EventBus, createBus } from "../src/bus.js";
import { ScriptedAdapter, readStore } from "./helpers.js";

/** A one-shard drop-oldest bus with an 8-slot ring. */
async function dropOldestBus() {
  const adapter = new ScriptedAdapter();
  const bus = await createBus({
    adapter,
    shards: 1,
    ringCapacity: 8,
    backpressure: "drop-oldest",
    batch: { minSize: 1, maxSize: 4 },
  });
  return { bus, adapter };
}

/** Fills the ring; synchronous, so the pump cannot take a batch before the caller's next await. */
function fill(bus: EventBus) {
  for (let i = 0; i < 8; i++) expect(bus.ingest({ i }, { key: "k" })).toBe("accepted");
}

const later = Array.from({ length: 20 }, (_, k) => ({ i: 8 + k }));

/** Each waiting call, handed the 20 events after the first 8; resolves how many were accepted. */
const waitingCalls: [string, (bus: EventBus) => Promise<number>][] = [
  [
    "ingestOrWait",
    async (bus) => {
      let accepted = 0;
      for (const value of later) if ((await bus.ingestOrWait(value, { key: "k" })) === "accepted") accepted++;
      return accepted;
    },
  ],
  [
    "ingestRawOrWait",
    async (bus) => {
      let accepted = 0;
      for (const value of later) {
        if ((await bus.ingestRawOrWait(bus.prepare(value, { key: "k" }))) === "accepted") accepted++;
      }
      return accepted;
    },
  ],
  [
    "ingestRawOrWait (plain RawEvent)",
    async (bus) => {
      const hash = bus.prepare({}, { key: "k" }).hash;
      let accepted = 0;
      for (const value of later) {
        if ((await bus.ingestRawOrWait({ json: JSON.stringify(value), hash })) === "accepted") accepted++;
      }
      return accepted;
    },
  ],
  ["ingestManyOrWait", (bus) => bus.ingestManyOrWait(later, { key: "k" })],
  ["ingestRawManyOrWait", (bus) => bus.ingestRawManyOrWait(later.map((v) => bus.prepare(v, { key: "k" })))],
];

describe("waiting ingest under an evicting backpressure mode", () => {
  it.each(waitingCalls)("%s waits for room instead of evicting queued events", async (_, call) => {
    const { bus, adapter } = await dropOldestBus();
    fill(bus);
    expect(await call(bus)).toBe(20);
    await bus.flush();
    const stats = bus.stats();
    expect(stats).toMatchObject({ ingested: 28, dispatched: 28, dropped: 0, rejected: 0 });
    expect(stats.droppedBy.evicted).toBe(0);
    const stored = (await readStore(adapter.store)).map((e) => JSON.parse(e.json).i);
    expect(stored).toEqual(Array.from({ length: 28 }, (_, k) => k));
    await bus.shutdown();
  });

  it("leaves the synchronous calls evicting as configured", async () => {
    const { bus } = await dropOldestBus();
    fill(bus);
    const waiting = bus.ingestOrWait({ i: 8 }, { key: "k" });
    // The waiting event is not queued yet; a synchronous one still evicts the oldest to get in.
    expect(bus.ingest({ i: 9 }, { key: "k" })).toBe("accepted");
    expect(bus.stats().droppedBy.evicted).toBe(1);
    expect(await waiting).toBe("accepted");
    await bus.flush();
    expect(bus.stats()).toMatchObject({ ingested: 10, dropped: 1 });
    await bus.shutdown();
  });
});
