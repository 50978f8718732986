import { MemoryAdapter, createBus } from "@netmesh/core";

const adapter = new MemoryAdapter(); // the embedded default; swap in a Redis, JetStream or Kinesis adapter
const bus = await createBus({ adapter, shards: 4 });

// Events with the same key land on the same shard and keep their order.
const session = { key: "session-42" };
bus.ingest({ type: "token", text: "Hello" }, session);
bus.ingest({ type: "token", text: " world" }, session);
bus.ingest({ type: "guardrail", policy: "pii", verdict: "allow" }, session);

await bus.flush(); // every event accepted so far is now stored (or counted as dropped)

const page = await adapter.pollShard(bus.shardFor("session-42"), undefined, 100);
console.log(page.events.map((event) => JSON.parse(event.json)));

const { ingested, dispatched, dropped } = bus.stats();
console.log({ ingested, dispatched, dropped }); // { ingested: 3, dispatched: 3, dropped: 0 }

await bus.shutdown(); // stores what is pending, then closes the adapter
