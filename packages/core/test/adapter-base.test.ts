import { describe, expect, it } from "vitest";
import type { AdapterContext, ReadShardOptions, ShardPage } from "../src/contract/adapter.js";
import { AdapterBase } from "../src/contract/adapter-base.js";
import {
  AdapterShutdownError,
  FatalError,
  TransientError,
  isAdapterError,
} from "../src/contract/adapter-errors.js";
import type { Batch, BatchResult } from "../src/contract/batch.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { capturingLogger, liveSignal } from "./helpers.js";
import { OutgoingBatch } from "../src/dispatch/outgoing-batch.js";

const EMPTY: ShardPage = { events: [], nextId: undefined, hasMore: false };
const batch = (events: string[] = ['{"a":1}']) =>
  OutgoingBatch.fromTexts(
    0,
    "0123456789abcdef",
    0,
    events,
    Float64Array.from(events, (_, i) => 1_700_000_000_000_000 + i),
  );

/** An adapter whose hooks the test steers and counts. */
class Probe extends AdapterBase {
  readonly name = "probe";
  readonly capabilities = { ...new MemoryAdapter().capabilities, streamingReads: false, listsShards: false };
  opens = 0;
  closes = 0;
  writes = 0;
  openGate: Promise<void> = Promise.resolve();
  openError: unknown;
  writeGate: Promise<void> = Promise.resolve();
  closeError: unknown;
  healthy: () => Promise<boolean> = async () => true;

  protected async open(_context: AdapterContext): Promise<void> {
    this.opens++;
    await this.openGate;
    if (this.openError !== undefined) throw this.openError;
  }
  protected async write(_batch: Batch): Promise<BatchResult | void> {
    this.writes++;
    await this.writeGate;
  }
  protected async read(): Promise<ShardPage> {
    return EMPTY;
  }
  protected async close(): Promise<void> {
    this.closes++;
    if (this.closeError !== undefined) throw this.closeError;
  }
  protected override ping(): Promise<boolean> {
    return this.healthy();
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

describe("AdapterBase lifecycle", () => {
  it("shares one open between concurrent init calls; a second init after ready is a no-op", async () => {
    const probe = new Probe();
    const opening = gate();
    probe.openGate = opening.promise;
    const first = probe.init();
    const second = probe.init();
    opening.open();
    await Promise.all([first, second]);
    await probe.init();
    expect(probe.opens).toBe(1);
    expect(await probe.isHealthy()).toBe(true);
  });

  it("lets init be retried after a failed open, and closes once at shutdown", async () => {
    const probe = new Probe();
    probe.openError = new TransientError("server starting");
    await expect(probe.init()).rejects.toThrow("server starting");
    expect(await probe.isHealthy()).toBe(false);
    probe.openError = undefined;
    await probe.init();
    expect(probe.opens).toBe(2);
    await Promise.all([probe.shutdown(), probe.shutdown()]);
    await probe.shutdown();
    expect(probe.closes).toBe(1);
  });

  it("refuses calls before init with FatalError and after shutdown with AdapterShutdownError", async () => {
    const probe = new Probe();
    for (const call of [
      () => probe.onBatch(batch(), liveSignal),
      () => probe.flush(),
      () => probe.pollShard(0, undefined, 1),
      () => probe.listShards(),
    ]) {
      expect(await rejection(call())).toBeInstanceOf(FatalError);
    }
    await probe.init();
    await probe.shutdown();
    for (const call of [
      () => probe.init(),
      () => probe.onBatch(batch(), liveSignal),
      () => probe.flush(),
      () => probe.pollShard(0, undefined, 1),
    ]) {
      expect(await rejection(call())).toBeInstanceOf(AdapterShutdownError);
    }
    expect(await probe.isHealthy()).toBe(false);
    expect(probe.writes).toBe(0);
  });

  it("shutdown during init wins: init rejects with AdapterShutdownError and close runs after open settled", async () => {
    const probe = new Probe();
    const opening = gate();
    probe.openGate = opening.promise;
    const init = probe.init();
    const shutdown = probe.shutdown();
    expect(probe.closes).toBe(0);
    opening.open();
    expect(await rejection(init)).toBeInstanceOf(AdapterShutdownError);
    await shutdown;
    expect(probe.closes).toBe(1);
  });

  it("never calls write for an already-aborted signal, and settles at once when the signal aborts mid-write", async () => {
    const probe = new Probe();
    await probe.init();
    const error = await rejection(probe.onBatch(batch(), AbortSignal.abort(new Error("late"))));
    expect(isAdapterError(error) && error.isRetryable).toBe(true);
    expect(probe.writes).toBe(0);
    probe.writeGate = new Promise(() => {}); // a write that never ends by itself
    const controller = new AbortController();
    const pending = probe.onBatch(batch(), controller.signal);
    controller.abort(new Error("timeout"));
    expect(await rejection(pending)).toBeInstanceOf(TransientError);
  });

  it("checks poll arguments before read: shard range, limit, afterId type", async () => {
    const probe = new Probe();
    await probe.init();
    for (const [shard, limit] of [
      [-1, 1],
      [65_535, 1],
      [1.5, 1],
      [0, 0],
      [0, 1.5],
      [0, Number.NaN],
    ] as const) {
      expect(await rejection(probe.pollShard(shard, undefined, limit))).toBeInstanceOf(FatalError);
    }
    expect(await rejection(probe.pollShard(0, 5 as unknown as string, 1))).toBeInstanceOf(FatalError);
    await expect(probe.pollShard(65_534, undefined, 1)).resolves.toEqual(EMPTY);
  });

  it("reports health false when ping throws or answers false, never rejecting", async () => {
    const probe = new Probe();
    await probe.init();
    probe.healthy = async () => {
      throw new Error("socket gone");
    };
    expect(await probe.isHealthy()).toBe(false);
    probe.healthy = async () => false;
    expect(await probe.isHealthy()).toBe(false);
  });

  it("logs a failing close under err instead of throwing it from shutdown", async () => {
    const probe = new Probe();
    const { logger, lines } = capturingLogger();
    await probe.init({ logger });
    probe.closeError = new Error("QUIT failed");
    await probe.shutdown();
    expect(lines).toEqual([expect.objectContaining({ level: "warn", message: "adapter close failed" })]);
    expect(lines[0]!.fields.err).toBe(probe.closeError);
  });

  it("refuses readShard and listShards the capabilities do not declare", async () => {
    const probe = new Probe();
    await probe.init();
    const iterator = probe.readShard(0, undefined, { signal: liveSignal, limit: 1 })[Symbol.asyncIterator]();
    expect(await rejection(iterator.next())).toBeInstanceOf(FatalError);
    expect(await rejection(probe.listShards())).toBeInstanceOf(FatalError);
  });
});

describe("MemoryAdapter streaming read", () => {
  it("wakes on the append itself and ends when the adapter shuts down", async () => {
    const adapter = new MemoryAdapter();
    await adapter.init();
    const controller = new AbortController();
    const pages: ShardPage[] = [];
    const options: ReadShardOptions = { signal: controller.signal, limit: 10 };
    const following = (async () => {
      for await (const page of adapter.readShard(3, undefined, options)) pages.push(page);
    })();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const started = performance.now();
    await adapter.onBatch(
      OutgoingBatch.fromTexts(3, "0123456789abcdef", 0, ['{"x":1}'], Float64Array.of(1)),
      liveSignal,
    );
    while (pages.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(performance.now() - started).toBeLessThan(50);
    expect(pages[0]!.events.map((event) => event.json)).toEqual(['{"x":1}']);
    await adapter.shutdown();
    await following;
    expect(await adapter.listShards().catch((error: unknown) => error)).toBeInstanceOf(AdapterShutdownError);
  });
});
