import { jetstreamManager } from "@nats-io/jetstream";
import { TestProducer, runAdapterConformance } from "@netmesh/adapter-testkit";
import { type StoredEvent, isAdapterError, silentLogger } from "@netmesh/core/adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter, type JetStreamAdapterOptions, shardSubject } from "../src/index.js";
import { resolveOptions } from "../src/options.js";
import { managedConfig } from "../src/streams.js";
import { type LogLine, liveSignal, recordingLogger, uniquePrefix, withConnection } from "./support/nats.js";
import { type NatsCluster, startNatsCluster } from "./support/nats-cluster.js";

// One 3-node cluster for the whole file (starting one takes seconds): the conformance suite with
// replicas: 3, then what a replicated stream adds: replicas that lag the leader or do not answer direct
// gets, and a stream whose subject the connected server does not know to be listened to yet.
let started: Promise<NatsCluster> | undefined;
const cluster = () => {
  started ??= startNatsCluster();
  return started;
};
afterAll(async () => {
  await (await started)?.stop();
});

runAdapterConformance({
  name: "jetstream (3-node cluster, replicas: 3)",
  setup: async () => {
    await cluster();
  },
  create: async ({ namespace }) =>
    new JetStreamAdapter({ url: (await cluster()).urls, prefix: namespace, replicas: 3 }),
  timeoutMs: 60_000,
});

async function adapterOn(
  prefix: string,
  options: Partial<JetStreamAdapterOptions> = {},
  log?: LogLine[],
): Promise<JetStreamAdapter> {
  const adapter = new JetStreamAdapter({ url: (await cluster()).urls, prefix, replicas: 3, ...options });
  await adapter.init({ logger: log === undefined ? silentLogger : recordingLogger(log) });
  return adapter;
}

/**
 * Every event of `shard` after `after`, paging with `limit` until `hasMore` is false; with `retry`, a
 * page that fails retryably is asked again from the same cursor (20 times at most).
 */
async function readAll(
  adapter: JetStreamAdapter,
  shard: number,
  limit: number,
  after?: string,
  retry = false,
): Promise<{ events: StoredEvent[]; cursor: string | undefined }> {
  const events: StoredEvent[] = [];
  let cursor = after;
  let retries = 0;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await adapter.pollShard(shard, cursor, limit).catch((error: unknown) => {
      if (!retry || !(isAdapterError(error) && error.isRetryable) || ++retries > 20) throw error;
      return undefined;
    });
    if (page === undefined) continue;
    events.push(...page.events);
    cursor = page.nextId ?? cursor;
    if (!page.hasMore) return { events, cursor };
  }
  throw new Error("paging did not end");
}

function texts(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ n: from + i, pad: "p".repeat(100) }));
}

/**
 * Stops `node`, a follower of `stream`, once it takes part in answering direct gets: a follower joins
 * only about a second after it is current, so until direct gets from n1 go unanswered it is resumed and
 * stopped again.
 */
async function pauseAnsweringReplica(nodes: NatsCluster, node: string, stream: string, subject: string) {
  await withConnection(nodes.nodes[0]!.url, async (nc) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      await nodes.pause(node);
      const inbox = `_INBOX.probe${attempt}`;
      let answered = 0;
      const sub = nc.subscribe(`${inbox}.*`, {
        callback: () => {
          answered++;
        },
      });
      for (let i = 0; i < 60; i++) {
        nc.publish(`$JS.API.DIRECT.GET.${stream}`, JSON.stringify({ seq: 1, next_by_subj: subject }), {
          reply: `${inbox}.${i}`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      sub.unsubscribe();
      if (answered < 60) {
        await nodes.waitForJetStream(); // should the stopped node have led the cluster, another does now
        return;
      }
      nodes.resume(node);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`${node} never answered direct gets on ${stream}`);
  });
}

describe("replicated streams (replicas: 3)", () => {
  beforeAll(async () => {
    await cluster();
  }, 60_000);

  it("a new stream's first batch is stored in order, and a read right after its creation finds it", async () => {
    // Right after creation the server the client uses may not know yet that the stream listens: the
    // first publishes of a pipelined window would find no responders while later ones are stored.
    for (let round = 0; round < 4; round++) {
      const prefix = uniquePrefix("r3new");
      const writer = await adapterOn(prefix);
      const reader = await adapterOn(prefix);
      try {
        const written = texts(0, 2_000);
        await writer.onBatch(new TestProducer().batch(0, written), liveSignal());
        const { events } = await readAll(reader, 0, 50);
        expect(events.map((event) => event.json)).toEqual(written);
      } finally {
        await writer.shutdown();
        await reader.shutdown();
      }
    }
  }, 60_000);

  it("a stream deleted after it was read reads as the empty page (direct gets and a session)", async () => {
    const prefix = uniquePrefix("r3gone");
    const writer = await adapterOn(prefix);
    const reader = await adapterOn(prefix);
    try {
      for (const shard of [0, 1]) {
        const limit = shard === 0 ? 10 : 100;
        await writer.onBatch(new TestProducer().batch(shard, texts(0, 5)), liveSignal());
        expect((await readAll(reader, shard, limit, undefined, true)).events).toHaveLength(5);
        await withConnection((await cluster()).urls, async (nc) => {
          await (await jetstreamManager(nc)).streams.delete(writer.streamName(shard));
        });
        const started = Date.now();
        const page = await reader.pollShard(shard, undefined, limit);
        expect(page, `limit ${limit}`).toEqual({ events: [], nextId: undefined, hasMore: false });
        expect(Date.now() - started).toBeLessThan(5_000);
      }
    } finally {
      await writer.shutdown();
      await reader.shutdown();
    }
  }, 60_000);

  it("long reads (pages of 1,000, through a consumer session) return every event once, in order", async () => {
    const prefix = uniquePrefix("r3long");
    const writer = await adapterOn(prefix);
    const reader = await adapterOn(prefix);
    try {
      const producer = new TestProducer();
      const written = texts(0, 6_000);
      for (let from = 0; from < written.length; from += 1_500) {
        await writer.onBatch(producer.batch(1, written.slice(from, from + 1_500)), liveSignal());
      }
      const first = await readAll(reader, 1, 1_000);
      expect(first.events.map((event) => event.json)).toEqual(written);
      // A reader that took only part of a page comes back inside it.
      const page = await reader.pollShard(1, undefined, 1_000);
      const resumed = await readAll(reader, 1, 1_000, page.events[399]!.id);
      expect(resumed.events.map((event) => event.json)).toEqual(written.slice(400));
    } finally {
      await writer.shutdown();
      await reader.shutdown();
    }
  }, 60_000);

  it("a replica that stops answering direct gets: reads stay complete and in order (its share goes to the leader)", async () => {
    const nodes = await cluster();
    const prefix = uniquePrefix("r2stop");
    // Two replicas on n2 and n3, clients on n1: direct gets reach the replicas through routes, about
    // half of them the follower. (A client's own server answers them itself when it holds a replica.)
    const near = { url: nodes.nodes[0]!.url, replicas: 2 };
    await withConnection(near.url, async (nc) => {
      const settings = managedConfig(resolveOptions({ prefix, ...near }));
      await (await jetstreamManager(nc)).streams.add({
        name: `${prefix}_shard_2`,
        subjects: [shardSubject(prefix, 2)],
        ...settings,
        placement: { cluster: "netmesh-js-test", tags: ["far"] },
      });
    });
    const writer = await adapterOn(prefix, near);
    let paused: string | undefined;
    try {
      const written = texts(0, 3_000);
      const producer = new TestProducer();
      for (let from = 0; from < written.length; from += 1_000) {
        await writer.onBatch(producer.batch(2, written.slice(from, from + 1_000)), liveSignal());
      }
      const { followers } = await nodes.replicasOf(writer.streamName(2));
      expect(followers).not.toContain("n1");
      paused = followers[0]!;
      await pauseAnsweringReplica(nodes, paused, writer.streamName(2), shardSubject(prefix, 2));
      for (const limit of [50, 1_000]) {
        const log: LogLine[] = [];
        const reader = await adapterOn(prefix, near, log);
        try {
          const started = Date.now();
          const { events } = await readAll(reader, 2, limit);
          expect(events.map((event) => event.json)).toEqual(written);
          // One window waits out the silence (200 ms), then the stream is read from its leader: far
          // from the 5 s a request may take before it counts as failed.
          expect(Date.now() - started).toBeLessThan(20_000);
          // Pages of 50 use direct gets; pages of 1,000 a consumer session (on the stopped replica, its
          // creation goes unanswered and the read goes on with direct gets, then the leader).
          if (limit === 50) {
            expect(log.some((line) => /left unanswered by a replica/.test(line.message))).toBe(true);
          }
        } finally {
          await reader.shutdown();
        }
      }
    } finally {
      if (paused !== undefined) nodes.resume(paused);
      await writer.shutdown();
    }
  }, 120_000);

  it("a replica stopped while the stream grew: a read through it right after it resumes skips nothing and does not stop short", async () => {
    const nodes = await cluster();
    const prefix = uniquePrefix("r3lag");
    const n1 = { url: nodes.nodes[0]!.url };
    const writer = await adapterOn(prefix, n1);
    let paused: string | undefined;
    try {
      const producer = new TestProducer();
      const before = texts(0, 1_000);
      await writer.onBatch(producer.batch(3, before), liveSignal());
      const { followers } = await nodes.replicasOf(writer.streamName(3));
      const lagging = followers.find((name) => name !== "n1")!;
      paused = lagging;
      await nodes.pause(lagging);
      await nodes.waitForJetStream();
      // Written while it is stopped (two of three replicas make a quorum): it lags once resumed.
      const during = texts(1_000, 20_000);
      for (let from = 0; from < during.length; from += 5_000) {
        await writer.onBatch(producer.batch(3, during.slice(from, from + 5_000)), liveSignal());
      }
      nodes.resume(lagging);
      paused = undefined;
      // A reader on that node: its own replica answers its direct gets, "no message" for what it has not
      // caught up on yet (when the read gets there first; it catches up within moments, so the reads
      // through a lagging replica are proven deterministically in read-replicas.test.ts).
      const url = nodes.nodes.find((node) => node.name === lagging)!.url;
      // Just resumed, the node may answer "JetStream temporarily unavailable" (503) for a moment: init
      // fails retryably then, and is tried again.
      let reader: JetStreamAdapter | undefined;
      for (let attempt = 0; reader === undefined; attempt++) {
        reader = await adapterOn(prefix, { url, requestTimeoutMs: 15_000 }).catch((error: unknown) => {
          if (!(isAdapterError(error) && error.isRetryable) || attempt >= 200) throw error;
          return new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 25));
        });
      }
      try {
        // The resumed node may start a leader election (its timers ran out while it was stopped): a
        // read may then fail retryably, and goes on from its cursor, as any reader would.
        const all = await readAll(reader, 3, 1_000, undefined, true);
        expect(all.events.length).toBe(before.length + during.length);
        expect(all.events.map((event) => event.json)).toEqual([...before, ...during]);
      } finally {
        await reader.shutdown();
      }
    } finally {
      if (paused !== undefined) nodes.resume(paused);
      await writer.shutdown();
    }
  }, 120_000);
});
