import { describe, expect, it } from "vitest";
import { createBus } from "../src/bus.js";
import {
  AdapterShutdownError,
  BackendBackpressureError,
  ConnectionError,
  FatalError,
  SerializationError,
  TransientError,
} from "../src/contract/adapter-errors.js";
import type { Logger } from "../src/contract/logger.js";
import { ScriptedAdapter, type Step, fastRetries, readStore } from "./helpers.js";

function capturingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push({ level, fields, message });
  };
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines };
}

/** One shard, one batch of 5 events, dispatched through a scripted adapter. */
async function runOneBatch(script: Step[], options: { retries?: number; adapterTimeoutMs?: number } = {}) {
  const adapter = new ScriptedAdapter(script);
  const { logger, lines } = capturingLogger();
  const bus = await createBus({
    adapter,
    shards: 1,
    batch: { minSize: 5, maxSize: 5 },
    logger,
    ...fastRetries,
    ...options,
  });
  for (let i = 0; i < 5; i++) bus.ingest({ i });
  await bus.flush();
  const stats = bus.stats();
  expect(stats.pending).toBe(0);
  expect(stats.ingested).toBe(stats.dispatched + stats.dropped);
  return { adapter, bus, stats, lines };
}

describe("dispatch", () => {
  it.each([
    ["transient", new TransientError("blip")],
    ["backend backpressure", new BackendBackpressureError()],
    ["connection loss", new ConnectionError("ECONNRESET")],
    ["an unclassified error", new Error("socket hang up")],
  ])("retries %s with the very same batch object, then succeeds", async (_, error) => {
    const { adapter, stats } = await runOneBatch([error, error, "ok"]);
    expect(adapter.calls).toHaveLength(3);
    expect(adapter.batches[1]).toBe(adapter.batches[0]);
    expect(adapter.batches[2]).toBe(adapter.batches[0]);
    expect(stats).toMatchObject({ dispatched: 5, dropped: 0, batches: 1 });
    expect(await readStore(adapter.store)).toHaveLength(5);
  });

  it("drops after retries are exhausted: retries + 1 calls, counted and logged", async () => {
    const { adapter, stats, lines } = await runOneBatch([new TransientError("down")], { retries: 3 });
    expect(adapter.calls).toHaveLength(4);
    expect(stats.droppedBy.retriesExhausted).toBe(5);
    expect(stats).toMatchObject({ dispatched: 0, dropped: 5, batches: 0 });
    const drop = lines.find((l) => l.level === "error");
    expect(drop?.fields).toMatchObject({ reason: "retriesExhausted", shard: 0, events: 5, attempts: 4 });
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(3);
  });

  it.each([
    ["fatal", new FatalError("NOPERM"), "adapterRejected"],
    ["serialization", new SerializationError("bad bytes"), "adapterRejected"],
    ["shutdown", new AdapterShutdownError(), "adapterShutdown"],
  ] as const)("does not retry a %s error", async (_, error, reason) => {
    const { adapter, stats, lines } = await runOneBatch([error, "ok"]);
    expect(adapter.calls).toHaveLength(1);
    expect(stats.droppedBy[reason]).toBe(5);
    expect(lines.find((l) => l.level === "error")?.fields.reason).toBe(reason);
  });

  it("bounds each attempt with the adapter timeout, aborts its signal, and counts a final timeout", async () => {
    const signals: AbortSignal[] = [];
    const hang: Step = (_, signal) => {
      signals.push(signal);
      return new Promise(() => {}); // ignores the signal: the bus must still move on
    };
    const started = performance.now();
    const { adapter, stats } = await runOneBatch([hang], { retries: 1, adapterTimeoutMs: 30 });
    expect(adapter.calls).toHaveLength(2);
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(stats.droppedBy.timedOut).toBe(5);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("retries after a timeout and succeeds when the backend recovers", async () => {
    const { adapter, stats } = await runOneBatch(["hang", "ok"], { adapterTimeoutMs: 30 });
    expect(adapter.calls).toHaveLength(2);
    expect(stats.dispatched).toBe(5);
  });

  it("backs off exponentially between attempts", async () => {
    const adapter = new ScriptedAdapter([
      new TransientError("x"),
      new TransientError("x"),
      new TransientError("x"),
      "ok",
    ]);
    const bus = await createBus({
      adapter,
      shards: 1,
      batch: { minSize: 1, maxSize: 1 },
      retryBaseDelayMs: 20,
      retryMaxDelayMs: 1000,
    });
    bus.ingest({ a: 1 });
    await bus.flush();
    const gaps = adapter.calls.slice(1).map((call, i) => call.at - adapter.calls[i]!.at);
    expect(gaps).toHaveLength(3);
    expect(gaps[0]).toBeGreaterThanOrEqual(14); // 20 ms − 25% (minus timer slack)
    expect(gaps[1]).toBeGreaterThanOrEqual(29); // 40 ms − 25%
    expect(gaps[2]).toBeGreaterThanOrEqual(59); // 80 ms − 25%
    await bus.shutdown();
  });

  it("moves on to the next batch after a drop, keeping sequences gap-free", async () => {
    const adapter = new ScriptedAdapter([new FatalError("poison"), "ok"]);
    const bus = await createBus({ adapter, shards: 1, batch: { minSize: 3, maxSize: 3 } });
    for (let i = 0; i < 9; i++) bus.ingest({ i });
    await bus.flush();
    expect(adapter.calls.map((c) => c.firstSequence)).toEqual([0, 3, 6]);
    expect(bus.stats()).toMatchObject({ dispatched: 6, dropped: 3 });
    expect((await readStore(adapter.store)).map((e) => JSON.parse(e.json).i)).toEqual([3, 4, 5, 6, 7, 8]);
    await bus.shutdown();
  });
});
