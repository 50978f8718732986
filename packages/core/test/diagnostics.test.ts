import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { afterEach, describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import { TransientError } from "../src/contract/adapter-errors.js";
import { DIAGNOSTICS_CHANNELS } from "../src/diagnostics/channels.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { ScriptedAdapter, fastRetries } from "./helpers.js";

type Message = Record<string, unknown>;
const listening: [string, (message: unknown) => void][] = [];

/** Collects what one channel publishes until the test ends. */
function listen(name: string): Message[] {
  const messages: Message[] = [];
  const listener = (message: unknown) => messages.push(message as Message);
  subscribe(name, listener);
  listening.push([name, listener]);
  return messages;
}

afterEach(() => {
  for (const [name, listener] of listening.splice(0)) unsubscribe(name, listener);
});

describe("diagnostics channels", () => {
  it("batch dispatched: events, bytes, attempt, adapter time and queue delay per batch", async () => {
    const messages = listen(DIAGNOSTICS_CHANNELS.batchDispatched);
    const bus = await createBus({ adapter: new MemoryAdapter(), shards: 2 });
    for (let i = 0; i < 100; i++) bus.ingest({ i, text: "é" }, { key: `k${i}` });
    await bus.flush();
    const ours = messages.filter((m) => m.producer === bus.producer);
    expect(ours.reduce((sum, m) => sum + (m.events as number), 0)).toBe(100);
    const bytes = Array.from({ length: 100 }, (_, i) =>
      Buffer.byteLength(JSON.stringify({ i, text: "é" })),
    ).reduce((a, b) => a + b);
    expect(ours.reduce((sum, m) => sum + (m.bytes as number), 0)).toBe(bytes);
    for (const message of ours) {
      expect(message).toMatchObject({ adapter: "memory", attempt: 1, refused: 0 });
      expect(message.adapterMs).toBeGreaterThanOrEqual(0);
      expect(message.queueDelayMs).toBeGreaterThanOrEqual(0);
    }
    await bus.shutdown();
  });

  it("batch retried: the failed attempt, its classification and the pause", async () => {
    const messages = listen(DIAGNOSTICS_CHANNELS.batchRetried);
    const adapter = new ScriptedAdapter([new TransientError("busy"), "ok"]);
    const bus = await createBus({ adapter, shards: 1, ...fastRetries });
    bus.ingest({ x: 1 });
    await bus.flush();
    expect(messages).toEqual([
      expect.objectContaining({
        producer: bus.producer,
        shard: 0,
        events: 1,
        attempt: 1,
        reason: "transient",
      }),
    ]);
    expect(messages[0]!.delayMs).toBeGreaterThan(0);
    expect(messages[0]!.error).toBeInstanceOf(TransientError);
    await bus.shutdown();
  });

  it("events dropped and uncertain: evictions, and a batch whose attempts timed out", async () => {
    const dropped = listen(DIAGNOSTICS_CHANNELS.eventsDropped);
    const uncertain = listen(DIAGNOSTICS_CHANNELS.eventsUncertain);
    const adapter = new ScriptedAdapter(["hang"]);
    const bus = await createBus({
      adapter,
      shards: 1,
      ringCapacity: 8,
      retries: 0,
      adapterTimeoutMs: 20,
      batch: { minSize: 4, maxSize: 4 },
    });
    for (let i = 0; i < 20; i++) bus.ingest({ i });
    await bus.flush();
    const stats = bus.stats();
    const count = (reason: string) =>
      dropped.filter((m) => m.reason === reason).reduce((sum, m) => sum + (m.count as number), 0);
    expect(count("evicted")).toBe(stats.droppedBy.evicted);
    expect(count("timedOut")).toBe(stats.droppedBy.timedOut);
    expect(uncertain.reduce((sum, m) => sum + (m.count as number), 0)).toBe(stats.uncertain);
    expect(stats.uncertain).toBeGreaterThan(0);
    await bus.shutdown({ deadlineMs: 100 });
  });

  it("backpressure: engaged when a ring fills, released once it drained below half", async () => {
    const messages = listen(DIAGNOSTICS_CHANNELS.backpressure);
    const bus = await createBus({
      adapter: new MemoryAdapter(),
      shards: 1,
      ringCapacity: 16,
      backpressure: "fail-producer",
    });
    for (let i = 0; i < 40; i++) bus.ingest({ i });
    await bus.flush();
    expect(messages.map((m) => m.state)).toEqual(["engaged", "released"]);
    expect(messages[0]).toMatchObject({ producer: bus.producer, shard: 0, queued: 16, capacity: 16 });
    await bus.shutdown();
  });

  it("topology changed: a manual scale-up", async () => {
    const messages = listen(DIAGNOSTICS_CHANNELS.topologyChanged);
    const bus = await createBus({ shards: 1, scaling: { autoStart: false, maxShards: 4 } });
    const [added] = bus.manualScaleUp(1);
    expect(messages).toContainEqual(
      expect.objectContaining({ producer: bus.producer, type: "added", shard: added }),
    );
    await bus.shutdown();
  });

  it("shutdown phases, in order", async () => {
    const messages = listen(DIAGNOSTICS_CHANNELS.shutdownPhase);
    const bus = await createBus();
    const consumer = (async () => {
      for await (const _ of bus.subscribe()) {
        // drains and ends at shutdown
      }
    })();
    bus.ingest({ x: 1 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await bus.shutdown();
    await consumer;
    expect(messages.filter((m) => m.producer === bus.producer).map((m) => m.phase)).toEqual([
      "draining",
      "drained",
      "flushing",
      "waitingForSubscriptions",
      "closingAdapter",
      "done",
    ]);
  });
});
