import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import type { Adapter } from "../src/contract/adapter.js";
import { createReader } from "../src/consumer/reader.js";
import { InvalidCursorError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";

// A cursor holding another backend's ids (here a Redis stream id on a memory bus) is refused when the
// read is asked for, not found out by a shard that fails on every poll (or a follower retrying for ever).

const cursorOf = (positions: Record<string, string>) =>
  Buffer.from(JSON.stringify(positions), "utf8").toString("base64url");
const redisCursor = cursorOf({ "0": "1700000000000-0" });

describe("cursors in another backend's id form", () => {
  it("are refused by bus.poll and bus.subscribe with InvalidCursorError naming the shard and the backend", async () => {
    const bus = await createBus({ shards: 2 });
    try {
      bus.ingest({ a: 1 }, { key: "k" });
      await bus.flush();
      await expect(bus.poll({ limit: 10, cursor: redisCursor })).rejects.toThrow(InvalidCursorError);
      await expect(bus.poll({ limit: 10, cursor: redisCursor })).rejects.toThrow(
        /position of shard 0 is not a memory entry id/,
      );
      expect(() => bus.subscribe({ cursor: redisCursor })).toThrow(InvalidCursorError);
      // The bus's own cursors pass, and so does a memory id it never handed out.
      const page = await bus.poll({ limit: 10 });
      expect(page.events).toHaveLength(1);
      await expect(bus.poll({ limit: 10, cursor: page.cursor })).resolves.toMatchObject({ failedShards: [] });
      await expect(bus.poll({ limit: 10, cursor: cursorOf({ "1": "99" }) })).resolves.toMatchObject({
        events: [],
        failedShards: [],
      });
    } finally {
      await bus.shutdown();
    }
  });

  it("are refused by a reader's poll and subscribe too", async () => {
    const adapter = new MemoryAdapter();
    const reader = await createReader({ adapter });
    try {
      await expect(reader.poll({ limit: 10, cursor: redisCursor })).rejects.toThrow(InvalidCursorError);
      expect(() => reader.subscribe({ cursor: redisCursor })).toThrow(InvalidCursorError);
    } finally {
      await reader.close();
    }
  });

  it("pass to the adapter when it has no isEntryId (the check is optional), which then fails that shard", async () => {
    const inner = new MemoryAdapter();
    // The same adapter without the optional check, as a third-party adapter written before it.
    const plain: Adapter = {
      name: "plain",
      specVersion: inner.specVersion,
      get capabilities() {
        return inner.capabilities;
      },
      init: (context) => inner.init(context),
      onBatch: (batch, signal) => inner.onBatch(batch, signal),
      flush: () => inner.flush(),
      shutdown: () => inner.shutdown(),
      pollShard: (shard, afterId, limit) => inner.pollShard(shard, afterId, limit),
      readShard: (shard, afterId, options) => inner.readShard(shard, afterId, options),
      listShards: () => inner.listShards(),
      isHealthy: () => inner.isHealthy(),
    };
    const bus = await createBus({ adapter: plain, shards: 1 });
    try {
      const page = await bus.poll({ limit: 10, cursor: redisCursor });
      expect(page.failedShards).toEqual([0]);
    } finally {
      await bus.shutdown();
    }
  });
});
