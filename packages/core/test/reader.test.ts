import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import { createReader } from "../src/consumer/reader.js";
import type { StoredEvent } from "../src/contract/adapter.js";
import { ConfigError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";
import { ScriptedAdapter } from "./helpers.js";

async function readAll(reader: Awaited<ReturnType<typeof createReader>>): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor: string | undefined;
  for (let polls = 0; polls < 10_000; polls++) {
    const page = await reader.poll({ limit: 500, ...(cursor && { cursor }) });
    events.push(...page.events);
    cursor = page.cursor;
    if (!page.hasMore) return events;
  }
  throw new Error("paging did not end");
}

describe("createReader: a consumer without producers", () => {
  it("discovers every shard in the backend, also ones scaled away that still hold events", async () => {
    const store = new MemoryStore();
    const bus = await createBus({
      adapter: new MemoryAdapter({ store }),
      shards: 2,
      scaling: { autoStart: false, maxShards: 8, minShards: 1 },
    });
    for (let i = 0; i < 1_000; i++) bus.ingest({ i }, { key: `k${i}` });
    const added = bus.manualScaleUp(2);
    for (let i = 1_000; i < 2_000; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.flush();
    await bus.manualScaleDown(1);
    await bus.shutdown();

    const reader = await createReader({ adapter: new MemoryAdapter({ store }) });
    expect(reader.shardIds()).toEqual(store.shardIds());
    expect(reader.shardIds()).toEqual(expect.arrayContaining(added));
    const events = await readAll(reader);
    expect(events).toHaveLength(2_000);
    expect(new Set(events.map((event) => event.json)).size).toBe(2_000);
    await reader.close();
  });

  it("follows a bus in another 'process' (another adapter on the same store), picking up new shards", async () => {
    const store = new MemoryStore();
    const bus = await createBus({
      adapter: new MemoryAdapter({ store }),
      shards: 1,
      scaling: { autoStart: false, maxShards: 4 },
    });
    bus.ingest({ i: 0 });
    await bus.flush();
    const reader = await createReader({ adapter: new MemoryAdapter({ store }), shardRefreshMs: 20 });
    const seen: number[] = [];
    const following = (async () => {
      for await (const event of reader.subscribe()) {
        seen.push((JSON.parse(event.json) as { i: number }).i);
        if (seen.length === 200) break;
      }
    })();
    bus.manualScaleUp(3);
    for (let i = 1; i < 200; i++) bus.ingest({ i }, { key: `key-${i}` });
    await bus.flush();
    await following;
    expect(new Set(seen).size).toBe(200);
    expect(reader.shardIds().length).toBe(4);
    await reader.close();
    await bus.shutdown();
  });

  it("needs the shards when the adapter cannot list them", async () => {
    await expect(createReader({ adapter: new ScriptedAdapter() })).rejects.toThrow(ConfigError);
    const reader = await createReader({ adapter: new ScriptedAdapter(), shards: [0, 3] });
    expect(reader.shardIds()).toEqual([0, 3]);
    await reader.close();
  });
});
