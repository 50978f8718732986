import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import { ProducerStateError } from "../src/errors.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";
import { readStore } from "./helpers.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "netmesh-state-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runBus(store: MemoryStore, path: string, count: number, shutdown = true) {
  const bus = await createBus({ adapter: new MemoryAdapter({ store }), shards: 3, producerStatePath: path });
  for (let i = 0; i < count; i++) bus.ingest({ i });
  if (shutdown) await bus.shutdown();
  else await bus.flush();
  return bus;
}

describe("persisted producer state", () => {
  it("keeps the nonce and continues sequences gap-free after a clean restart", async () => {
    const path = join(dir, "producer.json");
    const store = new MemoryStore();
    const first = await runBus(store, path, 300);
    const second = await runBus(store, path, 300);
    expect(second.producer).toBe(first.producer);
    const events = await readStore(store);
    expect(events).toHaveLength(600); // nothing deduplicated away: no id was reused
    expect(new Set(events.map((e) => e.messageId)).size).toBe(600);
    for (const shard of second.stats().shards) {
      const before = first.stats().shards[shard.id]!.nextSequence;
      expect(shard.nextSequence).toBe(before + shard.ingested);
    }
  });

  it("never reuses a message id after a crash (no clean shutdown)", async () => {
    const path = join(dir, "producer.json");
    const store = new MemoryStore();
    const crashed = await runBus(store, path, 300, false); // abandoned without shutdown
    const restarted = await runBus(store, path, 300);
    expect(restarted.producer).toBe(crashed.producer);
    const events = await readStore(store);
    expect(events).toHaveLength(600);
    expect(new Set(events.map((e) => e.messageId)).size).toBe(600);
    for (const shard of restarted.stats().shards) expect(shard.nextSequence).toBeGreaterThanOrEqual(2 ** 20);
  });

  it("writes a versioned file atomically", async () => {
    const path = join(dir, "producer.json");
    const bus = await runBus(new MemoryStore(), path, 10);
    const file = JSON.parse(await readFile(path, "utf8"));
    expect(file.version).toBe(1);
    expect(file.producer).toBe(bus.producer);
    expect(Object.values(file.nextSequence).reduce((a, b) => (a as number) + (b as number), 0)).toBe(10);
  });

  it.each([
    ["not JSON", "{oops"],
    ["an unknown version", JSON.stringify({ version: 2, producer: "0123456789abcdef", nextSequence: {} })],
    ["a zero nonce", JSON.stringify({ version: 1, producer: "0000000000000000", nextSequence: {} })],
    [
      "a non-canonical shard key",
      JSON.stringify({ version: 1, producer: "0123456789abcdef", nextSequence: { "01": 3 } }),
    ],
    [
      "a negative sequence",
      JSON.stringify({ version: 1, producer: "0123456789abcdef", nextSequence: { "0": -1 } }),
    ],
  ])("refuses a file with %s, naming the path", async (_, content) => {
    const path = join(dir, "producer.json");
    await writeFile(path, content);
    const attempt = createBus({ producerStatePath: path });
    await expect(attempt).rejects.toBeInstanceOf(ProducerStateError);
    await expect(attempt).rejects.toThrow(path);
  });

  it("does not create a missing parent directory", async () => {
    const path = join(dir, "missing", "producer.json");
    const attempt = createBus({ producerStatePath: path });
    await expect(attempt).rejects.toMatchObject({ code: "PRODUCER_STATE", path });
  });

  it("gives every bus without a state file its own random nonce", async () => {
    const a = await createBus();
    const b = await createBus();
    expect(a.producer).toMatch(/^[0-9a-f]{16}$/);
    expect(a.producer).not.toBe(b.producer);
    await Promise.all([a.shutdown(), b.shutdown()]);
  });
});
