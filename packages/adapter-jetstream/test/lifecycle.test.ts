import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { TestProducer } from "@netmesh/adapter-testkit";
import { createBus } from "@netmesh/core";
import { type AdapterError, isAdapterError, silentLogger } from "@netmesh/core/adapter";
import { startNats } from "@netmesh/test-backends";
import { afterAll, describe, expect, it } from "vitest";
import { JetStreamAdapter, shardSubject, streamName } from "../src/index.js";
import { expectExactly, readAll, readyAdapter } from "./support/adapter.js";
import {
  type LogLine,
  NATS_URL,
  deleteStreams,
  liveSignal,
  recordingLogger,
  uniquePrefix,
  withConnection,
} from "./support/nats.js";
import { startOwnServer } from "./support/own-server.js";

const prefix = uniquePrefix("life");
afterAll(() => deleteStreams(prefix));

async function kindOf(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isAdapterError(error) ? error.kind : `not an AdapterError: ${String(error)}`;
}

describe("stream creation", () => {
  it("concurrent first writes to a shard look the stream up and create it once", async () => {
    const log: LogLine[] = [];
    const adapter = await readyAdapter(prefix, {}, log);
    try {
      const batches = Array.from({ length: 6 }, (_, p) =>
        new TestProducer().batch(0, [`{"p":${p}}`, `{"p":${p},"n":2}`]),
      );
      await Promise.all(batches.map((batch) => adapter.onBatch(batch, liveSignal())));
      const about = (message: string) =>
        log.filter((line) => line.message === message && line.fields.stream === streamName(prefix, 0)).length;
      expect(about("looking up stream")).toBe(1);
      expect(about("stream created")).toBe(1);
      const stored = await readAll(adapter, 0);
      expect(stored).toHaveLength(12);
      expect(new Set(stored.map((event) => event.messageId)).size).toBe(12);
    } finally {
      await adapter.shutdown();
    }
  });

  it("two adapters racing to create the same stream both succeed, with one stream", async () => {
    const racePrefix = uniquePrefix("race");
    const [a, b] = await Promise.all([readyAdapter(racePrefix), readyAdapter(racePrefix)]);
    try {
      const first = new TestProducer().batch(3, ['{"from":"a"}']);
      const second = new TestProducer().batch(3, ['{"from":"b"}']);
      await Promise.all([a!.onBatch(first, liveSignal()), b!.onBatch(second, liveSignal())]);
      expect(await readAll(a!, 3)).toHaveLength(2);
    } finally {
      await Promise.all([a!.shutdown(), b!.shutdown()]);
      expect(await deleteStreams(racePrefix)).toBe(1);
    }
  });

  it("a stream with other settings (size or per-subject limits too) is refused by default and updated with onStreamMismatch: update", async () => {
    const mismatch = uniquePrefix("mism");
    await withConnection(NATS_URL, async (nc) => {
      await (await jetstreamManager(nc)).streams.add({
        name: streamName(mismatch, 0),
        subjects: [shardSubject(mismatch, 0)],
        duplicate_window: 120_000_000_000,
        allow_direct: false,
        // Either would refuse events the adapter accepts: a whole batch failing on one large event,
        // or all but the last 5 events discarded.
        max_msg_size: 100,
        max_msgs_per_subject: 5,
      });
    });
    try {
      const strict = await readyAdapter(mismatch);
      const refused = await strict.onBatch(new TestProducer().batch(0, ['{"x":1}']), liveSignal()).then(
        () => undefined,
        (e: unknown) => e as AdapterError,
      );
      await strict.shutdown();
      expect(refused?.kind).toBe("fatal");
      expect(refused?.message).toMatch(/duplicate_window: 120000000000 ≠ 3600000000000/);
      expect(refused?.message).toMatch(/allow_direct: false ≠ true/);
      expect(refused?.message).toMatch(/max_msg_size: 100 ≠ -1/);
      expect(refused?.message).toMatch(/max_msgs_per_subject: 5 ≠ -1/);
      const updating = await readyAdapter(mismatch, { onStreamMismatch: "update" });
      const batch = new TestProducer().batch(0, [
        `"${"x".repeat(200)}"`,
        ...Array.from({ length: 6 }, (_, i) => `{"x":${i}}`),
      ]);
      await updating.onBatch(batch, liveSignal());
      expect(expectExactly(await readAll(updating, 0), [batch])).toBeUndefined();
      await updating.shutdown();
      await withConnection(NATS_URL, async (nc) => {
        const info = await (await jetstreamManager(nc)).streams.info(streamName(mismatch, 0));
        expect(info.config.duplicate_window).toBe(3_600_000_000_000);
        expect(info.config.allow_direct).toBe(true);
        expect(info.config.max_msg_size).toBe(-1);
        expect(info.config.max_msgs_per_subject).toBe(-1);
      });
    } finally {
      await deleteStreams(mismatch);
    }
  });
});

describe("a max age shorter than the default dedup window", () => {
  it("makes the dedup window the max age: the stream is created and dedupWindowMs says so", async () => {
    const aged = uniquePrefix("aged");
    const adapter = await readyAdapter(aged, { maxAgeMs: 60_000 });
    try {
      expect(adapter.capabilities.dedupWindowMs).toBe(60_000);
      const batch = new TestProducer().batch(0, ['{"x":1}']);
      await adapter.onBatch(batch, liveSignal());
      expect(expectExactly(await readAll(adapter, 0), [batch])).toBeUndefined();
      await withConnection(NATS_URL, async (nc) => {
        const info = await (await jetstreamManager(nc)).streams.info(streamName(aged, 0));
        expect(info.config.duplicate_window).toBe(60_000_000_000);
        expect(info.config.max_age).toBe(60_000_000_000);
      });
    } finally {
      await adapter.shutdown();
      await deleteStreams(aged);
    }
  });
});

describe("lifecycle", () => {
  it("init is idempotent: concurrent and repeated calls share one connection and keep the data", async () => {
    const log: LogLine[] = [];
    const adapter = new JetStreamAdapter({ url: NATS_URL, prefix });
    const logger = recordingLogger(log);
    await Promise.all([adapter.init({ logger }), adapter.init({ logger }), adapter.init({ logger })]);
    try {
      const batch = new TestProducer().batch(1, ['{"i":1}']);
      await adapter.onBatch(batch, liveSignal());
      await adapter.init({ logger });
      expect(await adapter.isHealthy()).toBe(true);
      expect(log.filter((line) => line.message === "JetStream adapter initialised")).toHaveLength(1);
      expect(expectExactly(await readAll(adapter, 1), [batch])).toBeUndefined();
    } finally {
      await adapter.shutdown();
    }
  });

  it("is unusable before init, with a fatal error", async () => {
    const adapter = new JetStreamAdapter({ url: NATS_URL, prefix });
    expect(await adapter.isHealthy()).toBe(false);
    expect(await kindOf(adapter.onBatch(new TestProducer().batch(0, ["1"]), liveSignal()))).toBe("fatal");
    expect(await kindOf(adapter.pollShard(0, undefined, 1))).toBe("fatal");
    await adapter.shutdown();
  });

  it("shutdown lets a batch in flight finish, then refuses everything with the shutdown error", async () => {
    const adapter = await readyAdapter(prefix);
    const batch = new TestProducer().batch(
      2,
      Array.from({ length: 5_000 }, (_, i) => `{"i":${i}}`),
    );
    const writing = adapter.onBatch(batch, liveSignal());
    const started = Date.now();
    await adapter.shutdown();
    expect(Date.now() - started).toBeLessThan(10_000);
    await writing; // it was let finish, not cut off
    expect(adapter.publishCounters.stored).toBe(5_000);
    expect(await adapter.isHealthy()).toBe(false);
    for (const call of [
      adapter.onBatch(batch, liveSignal()),
      adapter.pollShard(2, undefined, 10),
      adapter.flush(),
      adapter.init({ logger: silentLogger }),
    ]) {
      expect(await kindOf(call)).toBe("shutdown");
    }
    await adapter.shutdown(); // idempotent
    const reader = await readyAdapter(prefix);
    expect(expectExactly(await readAll(reader, 2), [batch])).toBeUndefined();
    await reader.shutdown();
  });

  it("shutdown is bounded by drainTimeoutMs even when the server stopped answering", async () => {
    const server = await startOwnServer();
    const log: LogLine[] = [];
    const adapter = new JetStreamAdapter({
      url: server.url(),
      prefix: "bounded",
      drainTimeoutMs: 500,
      requestTimeoutMs: 20_000,
    });
    await adapter.init({ logger: recordingLogger(log) });
    try {
      await adapter.onBatch(new TestProducer().batch(0, ['{"warm":1}']), liveSignal());
      await server.pause();
      const stuck = kindOf(adapter.onBatch(new TestProducer().batch(0, ['{"stuck":1}']), liveSignal()));
      const started = Date.now();
      await adapter.shutdown(); // a drain that overran is logged and the connection closed, never thrown
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(log.some((line) => line.message === "adapter close failed")).toBe(true);
      expect(await stuck).toBe("shutdown");
      expect(await kindOf(adapter.onBatch(new TestProducer().batch(0, ["1"]), liveSignal()))).toBe(
        "shutdown",
      );
    } finally {
      await server.stop();
    }
  });

  it("shutdown closes a dead connection at once instead of draining it; a write waiting for it ends", async () => {
    const server = await startNats();
    const adapter = new JetStreamAdapter({ url: server.url, prefix: "dead", drainTimeoutMs: 10_000 });
    await adapter.init({ logger: silentLogger });
    try {
      await adapter.onBatch(new TestProducer().batch(0, ['{"warm":1}']), liveSignal());
      await server.kill();
      const deadline = Date.now() + 5_000;
      while (await adapter.isHealthy()) {
        if (Date.now() > deadline) throw new Error("the adapter did not notice the server's death");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // This write waits for the reconnect (within the bus's attempt, here reconnectWaitMs' 10 s)…
      const waiting = kindOf(adapter.onBatch(new TestProducer().batch(0, ['{"waiting":1}']), liveSignal()));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      await adapter.shutdown();
      // …and ends with the shutdown, which closes the dead connection without waiting for anything.
      expect(Date.now() - started).toBeLessThan(500);
      expect(await waiting).toBe("shutdown");
    } finally {
      await server.stop();
    }
  });

  it("a bus's shutdown({ deadlineMs: 1000 }) with the server killed returns within the deadline", async () => {
    const server = await startNats();
    try {
      const bus = await createBus({ adapter: new JetStreamAdapter({ url: server.url, prefix: "deadline" }) });
      bus.ingestMany(Array.from({ length: 1_000 }, (_, i) => ({ i })));
      await bus.flush();
      await server.kill();
      bus.ingestMany(Array.from({ length: 1_000 }, (_, i) => ({ pending: i }))); // waits for a reconnect
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      const report = await bus.shutdown({ deadlineMs: 1_000 });
      expect(performance.now() - started).toBeLessThan(1_100);
      expect(report.stats.dispatched).toBe(1_000);
      expect(report.stats.dispatched + report.stats.dropped).toBe(2_000);
      // Once the deadline is spent on the pending events, the adapter's steps get what is left of it
      // (possibly nothing): a step that did not finish in time is reported as timed out, nothing else.
      for (const error of report.errors) expect(error.message).toMatch(/timed out after \d+ ms/);
    } finally {
      await server.stop();
    }
  });

  it("a caller's connection is used as is and left open at shutdown", async () => {
    const nc = await connect({ servers: NATS_URL });
    try {
      const adapter = new JetStreamAdapter({ connection: nc, prefix });
      await adapter.init({ logger: silentLogger });
      const batch = new TestProducer().batch(4, ['{"borrowed":true}']);
      await adapter.onBatch(batch, liveSignal());
      expect(expectExactly(await readAll(adapter, 4), [batch])).toBeUndefined();
      await adapter.shutdown();
      expect(nc.isClosed()).toBe(false);
      await nc.flush();
    } finally {
      await nc.close();
    }
  });

  it("rejects wrong options at construction with a fatal error", () => {
    const bad: unknown[] = [
      {},
      { url: NATS_URL, connection: {} },
      { url: "" },
      { url: NATS_URL, prefix: "a.b" },
      { url: NATS_URL, prefix: "a b" },
      { url: NATS_URL, requestTimeoutMs: 0 },
      { url: NATS_URL, duplicateWindowMs: 1.5 },
      // The server refuses a dedup window longer than the streams' max age.
      { url: NATS_URL, maxAgeMs: 60_000, duplicateWindowMs: 120_000 },
      { url: NATS_URL, maxAckPending: 0 },
      { url: NATS_URL, onStreamMismatch: "ignore" },
      { url: NATS_URL, inboxPrefix: "_INBOX.>" },
    ];
    for (const options of bad) {
      let caught: unknown;
      try {
        new JetStreamAdapter(options as never);
      } catch (error) {
        caught = error;
      }
      expect(isAdapterError(caught) && caught.kind, JSON.stringify(options)).toBe("fatal");
    }
  });
});
