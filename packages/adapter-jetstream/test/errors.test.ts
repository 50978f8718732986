import { inspect } from "node:util";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { TestProducer } from "@netmesh/adapter-testkit";
import {
  type AdapterError,
  type AdapterErrorKind,
  type Batch,
  isAdapterError,
  silentLogger,
} from "@netmesh/core/adapter";
import { type PrivateServer, startNats } from "@netmesh/test-backends";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyApiError, classifyClientError } from "../src/classify.js";
import { JetStreamAdapter, shardSubject } from "../src/index.js";
import { parsePubAck } from "../src/pub-ack.js";
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
import { type OwnServer, startOwnServer, startServerWithoutConsumers } from "./support/own-server.js";

/** The rejection of `work`, which must be an AdapterError of `kind`. */
async function rejection(work: Promise<unknown>, kind: AdapterErrorKind): Promise<AdapterError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAdapterError(error), `expected an AdapterError, got ${inspect(error)}`).toBe(true);
  expect((error as AdapterError).kind, (error as Error).message).toBe(kind);
  return error as AdapterError;
}

const sharedPrefix = uniquePrefix("err");
afterAll(() => deleteStreams(sharedPrefix));

describe("errors from the real client are classified by an explicit list", () => {
  it("timeouts and no responders are transient, a closed connection fatal, max_payload serialization", async () => {
    const nc = await connect({ servers: NATS_URL });
    const silent = nc.subscribe(`${sharedPrefix}.silent`); // receives, never answers
    const timeout = await nc.request(`${sharedPrefix}.silent`, "x", { timeout: 50 }).catch((e: unknown) => e);
    expect(classifyClientError(timeout, "request").kind).toBe("transient");
    const noResponders = await nc
      .request(`${sharedPrefix}.nobody`, "x", { timeout: 1_000 })
      .catch((e: unknown) => e);
    expect(classifyClientError(noResponders, "request").kind).toBe("transient");
    let tooBig: unknown;
    try {
      nc.publish(`${sharedPrefix}.big`, new Uint8Array((nc.info?.max_payload ?? 1_048_576) + 1));
    } catch (error) {
      tooBig = error;
    }
    expect(classifyClientError(tooBig, "publish").kind).toBe("serialization");
    silent.unsubscribe();
    await nc.close();
    let closed: unknown;
    try {
      nc.publish(`${sharedPrefix}.x`, "x");
    } catch (error) {
      closed = error;
    }
    expect(classifyClientError(closed, "publish").kind).toBe("fatal");
    expect(classifyClientError(new Error("something unheard of"), "x").kind).toBe("fatal");
  });

  it("a real PubAck refusing a publish (wrong last sequence) parses and classifies as fatal; 503 as transient", async () => {
    const prefix = uniquePrefix("ack");
    await withConnection(NATS_URL, async (nc) => {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: `${prefix}_shard_0`, subjects: [shardSubject(prefix, 0)] });
      try {
        const h = headers();
        h.set("Nats-Expected-Last-Sequence", "999");
        const reply = await nc.request(shardSubject(prefix, 0), "{}", { headers: h, timeout: 5_000 });
        const ack = parsePubAck(new TextDecoder().decode(reply.data));
        expect(ack?.ok).toBe(false);
        if (ack === undefined || ack.ok) throw new Error("expected a refusal");
        expect(ack.error.err_code).toBe(10071);
        const error = classifyApiError(ack.error, "publish");
        expect(error.kind).toBe("fatal");
        expect(error.message).toMatch(/wrong last sequence/i);
        expect(
          classifyApiError({ code: 503, description: "JetStream system temporarily unavailable" }, "x").kind,
        ).toBe("transient");
      } finally {
        await jsm.streams.delete(`${prefix}_shard_0`);
      }
    });
  });

  it("a stream deleted after the adapter created it is fatal for that batch; the next batch recreates it", async () => {
    const adapter = await readyAdapter(sharedPrefix);
    try {
      const producer = new TestProducer();
      await adapter.onBatch(producer.batch(5, ['{"before":1}']), liveSignal());
      await withConnection(NATS_URL, async (nc) => {
        await (await jetstreamManager(nc)).streams.delete(adapter.streamName(5));
      });
      // Publishing now finds no stream: the server answers "no responders" (503) at once.
      const error = await rejection(
        adapter.onBatch(producer.batch(5, ['{"lost":1}']), liveSignal()),
        "fatal",
      );
      expect(error.message).toMatch(/not found after it had been created/);
      const after = producer.batch(5, ['{"after":1}']);
      await adapter.onBatch(after, liveSignal());
      expect(expectExactly(await readAll(adapter, 5), [after])).toBeUndefined();
    } finally {
      await adapter.shutdown();
    }
  });

  it("one 2 MB event among 10,000 is refused alone as tooLarge, a lone surrogate as invalidText; the rest is stored in order", async () => {
    const adapter = await readyAdapter(sharedPrefix);
    try {
      const producer = new TestProducer();
      const texts = Array.from({ length: 10_000 }, (_, i) => `{"n":${i},"s":"é"}`);
      texts[2_500] = `"${"x".repeat(2_000_000)}"`;
      texts[7_000] = '{"bad":"\ud800"}';
      const batch = producer.batch(6, texts);
      const result = await adapter.onBatch(batch, liveSignal());
      expect(result?.rejected?.map(({ index, reason }) => ({ index, reason }))).toEqual([
        { index: 2_500, reason: "tooLarge" },
        { index: 7_000, reason: "invalidText" },
      ]);
      expect(adapter.publishCounters).toEqual({ stored: 9_998, duplicates: 0 });
      // The retry of the same batch (as the bus would after a failure) refuses the same two again.
      const again = await adapter.onBatch(batch, liveSignal());
      expect(again?.rejected?.map(({ index }) => index)).toEqual([2_500, 7_000]);
      const stored = await readAll(adapter, 6);
      expect(stored.map((event) => event.json)).toEqual(texts.filter((_, i) => i !== 2_500 && i !== 7_000));
      expect(stored.map((event) => event.messageId)).toEqual(
        texts.map((_, i) => batch.messageId(i)).filter((_, i) => i !== 2_500 && i !== 7_000),
      );
    } finally {
      await adapter.shutdown();
    }
  });

  it("a batch whose every event is refused resolves without publishing or creating the stream", async () => {
    const adapter = await readyAdapter(sharedPrefix);
    try {
      const result = await adapter.onBatch(new TestProducer().batch(7, ['"\udfff"']), liveSignal());
      expect(result).toEqual({ rejected: [expect.objectContaining({ index: 0, reason: "invalidText" })] });
      expect(await adapter.listShards()).not.toContain(7);
    } finally {
      await adapter.shutdown();
    }
  });
});

describe("authentication and permissions (a server of the test's own)", () => {
  const prefix = uniquePrefix("auth");
  let server: OwnServer;
  beforeAll(async () => {
    server = await startOwnServer(`authorization {
  users = [
    { user: "writer", password: "s3cret-pass" }
    { user: "limited", password: "lim-pass", permissions: { publish: { deny: ["${prefix}.shard.>"] } } }
  ]
}`);
  });
  afterAll(() => server?.stop());

  it("wrong credentials are fatal, and the password appears in no message, cause or log line", async () => {
    const log: LogLine[] = [];
    const adapter = new JetStreamAdapter({ url: server.url("writer", "wrong-pass-9f2"), prefix });
    const error = await rejection(adapter.init({ logger: recordingLogger(log) }), "fatal");
    expect(error.message).toMatch(/authori[sz]ation/i);
    expect(error.message).toContain("[REDACTED]@127.0.0.1");
    expect(inspect(error, { depth: 10 })).not.toContain("wrong-pass-9f2");
    expect(JSON.stringify(log)).not.toContain("wrong-pass-9f2");
    await adapter.shutdown();
  });

  it("credentials in the URL connect, and logs show the URL redacted", async () => {
    const log: LogLine[] = [];
    const adapter = new JetStreamAdapter({ url: server.url("writer", "s3cret-pass"), prefix });
    await adapter.init({ logger: recordingLogger(log) });
    try {
      const batch = new TestProducer().batch(0, ['{"authed":true}']);
      await adapter.onBatch(batch, liveSignal());
      expect(expectExactly(await readAll(adapter, 0), [batch])).toBeUndefined();
      const text = JSON.stringify(log);
      expect(text).not.toContain("s3cret-pass");
      expect(text).toContain(`nats://[REDACTED]@127.0.0.1:${server.port}`);
    } finally {
      await adapter.shutdown();
    }
  });

  it("a publish the account may not make is fatal, reported at once rather than after the timeout", async () => {
    const adapter = new JetStreamAdapter({
      url: server.url("limited", "lim-pass"),
      prefix,
      requestTimeoutMs: 10_000,
    });
    await adapter.init({ logger: silentLogger });
    try {
      const started = Date.now();
      const error = await rejection(
        adapter.onBatch(new TestProducer().batch(1, ['{"denied":1}']), liveSignal()),
        "fatal",
      );
      expect(error.message).toMatch(/permission/i);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await adapter.shutdown();
    }
  });
});

describe("an account that may not create consumers", () => {
  it("reads pages of 1,000 with direct gets all the same, and says once that sessions are off", async () => {
    const server = await startServerWithoutConsumers();
    const prefix = uniquePrefix("nocons");
    const writer = new JetStreamAdapter({ url: server.url("writer", "w-pass"), prefix });
    const log: LogLine[] = [];
    const reader = new JetStreamAdapter({
      url: server.url("noconsumers", "nc-pass"),
      prefix,
      requestTimeoutMs: 10_000,
    });
    try {
      await writer.init({ logger: silentLogger });
      await reader.init({ logger: recordingLogger(log) });
      const batch = new TestProducer().batch(
        0,
        Array.from({ length: 2_500 }, (_, i) => `{"i":${i}}`),
      );
      await writer.onBatch(batch, liveSignal());
      const started = Date.now();
      expect(expectExactly(await readAll(reader, 0, 1_000), [batch])).toBeUndefined();
      expect(expectExactly(await readAll(reader, 0, 1_000), [batch])).toBeUndefined();
      // The refusal comes at once (the server's -ERR), not after the request timeout.
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(log.filter((line) => /may not use consumers/.test(line.message))).toHaveLength(1);
    } finally {
      await reader.shutdown();
      await writer.shutdown();
      await server.stop();
    }
  });
});

describe("a server without JetStream", () => {
  it("fails init with a message naming JetStream, and closes the connection it opened", async () => {
    const server = await startOwnServer("", false);
    try {
      const adapter = new JetStreamAdapter({ url: server.url(), prefix: "nojs", requestTimeoutMs: 1_000 });
      const error = await rejection(adapter.init({ logger: silentLogger }), "transient");
      expect(error.message).toMatch(/JetStream did not answer/);
      expect(await adapter.isHealthy()).toBe(false);
      await adapter.shutdown();
    } finally {
      await server.stop();
    }
  });
});

/**
 * Runs `work` with an adapter (`requestTimeoutMs: timeoutMs`) on a server of its own, after one event
 * was written to shard 0 and read back with a page of 100, which opens a read session: the next read
 * of the shard goes through it. Stops both afterwards.
 */
async function withReadSession(
  timeoutMs: number,
  work: (server: OwnServer, adapter: JetStreamAdapter, producer: TestProducer, warm: Batch) => Promise<void>,
): Promise<void> {
  const server = await startOwnServer();
  const adapter = new JetStreamAdapter({
    url: server.url(),
    prefix: uniquePrefix("stall"),
    requestTimeoutMs: timeoutMs,
  });
  await adapter.init({ logger: silentLogger });
  try {
    const producer = new TestProducer();
    const warm = producer.batch(0, ['{"warm":1}']);
    await adapter.onBatch(warm, liveSignal());
    expect((await adapter.pollShard(0, undefined, 100)).events).toHaveLength(1);
    await work(server, adapter, producer, warm);
  } finally {
    await adapter.shutdown().catch(() => {});
    await server.stop();
  }
}

describe("an unresponsive or vanished server", () => {
  it("a paused server makes onBatch and pollShard time out as transient; after it resumes the retry is stored once", async () => {
    await withReadSession(1_000, async (server, adapter, producer, warm) => {
      await server.pause();
      const batch = producer.batch(0, ['{"a":1}', '{"a":2}']);
      const error = await rejection(adapter.onBatch(batch, liveSignal()), "transient");
      expect(error.message).toMatch(/timed out after 1000 ms/);
      // A read that makes no progress fails once requestTimeoutMs has passed, not later: through the
      // read session opened before the pause (100), then with direct gets (10).
      for (const limit of [100, 10]) {
        const started = Date.now();
        await rejection(adapter.pollShard(0, undefined, limit), "transient");
        expect(Date.now() - started, `limit ${limit}`).toBeLessThan(1_000 + 100);
      }
      expect(await adapter.isHealthy()).toBe(false);
      server.resume();
      await adapter.onBatch(batch, liveSignal());
      expect(expectExactly(await readAll(adapter, 0), [warm, batch])).toBeUndefined();
    });
  });

  it.each([
    [400, "shorter"],
    [3_000, "longer"],
  ])(
    "a read session on a paused server follows requestTimeoutMs (%i ms, %s than a second): it fails once that passed without progress, and reads the page when the server comes back within it",
    async (timeoutMs) => {
      await withReadSession(timeoutMs, async (server, adapter) => {
        await server.pause();
        const started = Date.now();
        await rejection(adapter.pollShard(0, undefined, 100), "transient");
        const failedAfter = Date.now() - started;
        expect(failedAfter).toBeGreaterThanOrEqual(timeoutMs - 50);
        expect(failedAfter).toBeLessThan(timeoutMs + 200);
        server.resume();
        await new Promise((resolve) => setTimeout(resolve, 1_100)); // the failed session's pause ends
        expect((await adapter.pollShard(0, undefined, 100)).events).toHaveLength(1);
        // Paused for less than requestTimeoutMs: the read waits (a session, then direct gets) and
        // returns the page once the server answers again.
        await server.pause();
        const resumeAfter = Math.floor(timeoutMs * 0.6);
        const resumed = new Promise((resolve) => setTimeout(resolve, resumeAfter)).then(() =>
          server.resume(),
        );
        const page = await adapter.pollShard(0, undefined, 100);
        await resumed;
        expect(page.events.map((event) => event.json)).toEqual(['{"warm":1}']);
      });
    },
  );

  describe("a killed server", () => {
    let server: PrivateServer;
    beforeAll(async () => {
      server = await startNats();
    });
    afterAll(() => server?.stop());

    it("a write waits out the outage within its bound and is stored once after the reconnect", async () => {
      const prefix = uniquePrefix("kill");
      const adapter = new JetStreamAdapter({ url: server.url, prefix });
      await adapter.init({ logger: silentLogger });
      try {
        const producer = new TestProducer();
        const first = producer.batch(0, ['{"n":1}']);
        await adapter.onBatch(first, liveSignal());
        await server.kill();
        await waitFor(async () => !(await adapter.isHealthy()), 5_000);
        await rejection(adapter.pollShard(0, undefined, 10), "connection"); // reads fail fast
        // Under a bus the attempt's signal bounds the wait (adapterTimeoutMs); here reconnectWaitMs' 10 s.
        const second = producer.batch(0, ['{"n":2}']);
        const started = Date.now();
        const writing = adapter.onBatch(second, liveSignal());
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await server.restart();
        await writing;
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(expectExactly(await readAll(adapter, 0), [first, second])).toBeUndefined();
      } finally {
        await adapter.shutdown();
      }
    }, 60_000);

    it("past reconnectWaitMs, or when the attempt's signal aborts, the write fails as retryable", async () => {
      const prefix = uniquePrefix("kill");
      const adapter = new JetStreamAdapter({ url: server.url, prefix, reconnectWaitMs: 300 });
      await adapter.init({ logger: silentLogger });
      try {
        const producer = new TestProducer();
        await adapter.onBatch(producer.batch(0, ['{"n":1}']), liveSignal());
        await server.kill();
        await waitFor(async () => !(await adapter.isHealthy()), 5_000);
        const batch = producer.batch(0, ['{"n":2}']);
        const started = Date.now();
        const error = await rejection(adapter.onBatch(batch, liveSignal()), "connection");
        expect(error.message).toMatch(/no reconnect within 300 ms/);
        expect(Date.now() - started).toBeGreaterThanOrEqual(280);
        const controller = new AbortController();
        setTimeout(() => controller.abort(new Error("the bus's attempt timed out")), 100);
        expect((await rejection(adapter.onBatch(batch, controller.signal), "transient")).isRetryable).toBe(
          true,
        );
        await server.restart();
        await waitFor(() => adapter.isHealthy(), 15_000);
        await adapter.onBatch(batch, liveSignal());
        expect((await readAll(adapter, 0)).map((event) => event.json)).toEqual(['{"n":1}', '{"n":2}']);
      } finally {
        await adapter.shutdown();
      }
    }, 60_000);
  });
});

async function waitFor(condition: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
