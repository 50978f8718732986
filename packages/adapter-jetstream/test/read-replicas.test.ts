import { type StoredEvent, isAdapterError, silentLogger } from "@netmesh/core/adapter";
import { describe, expect, it } from "vitest";
import { type ReadContext, readPage } from "../src/read.js";
import { ReadSessions } from "../src/read-sessions.js";
import { ReplyMux } from "../src/reply-mux.js";
import { FakeReplicatedStream, prng } from "./support/fake-replicas.js";

// The read algorithm against a replicated stream whose replicas misbehave on purpose, deterministically
// (a seeded choice of the replica that answers each direct get): a follower that lags the leader answers
// "no message" for what it has not applied, one that is stopped answers nothing. In a real cluster a
// follower catches up within moments, so a read rarely meets it: here it always does.

function setup(replicas: number, options: { timeoutMs?: number } = {}) {
  const fake = new FakeReplicatedStream("t_shard_0", "t.shard.0", 0);
  const mux = new ReplyMux(fake.connection, "_INBOX");
  mux.start();
  const context: ReadContext = {
    connection: fake.connection,
    mux,
    timeoutMs: options.timeoutMs ?? 5_000,
    maxReadAhead: 1_024,
    logger: silentLogger,
    stream: fake.stream,
    subject: fake.subject,
    replicas,
    sessions: new ReadSessions(silentLogger),
    // The fake stream is never deleted.
    streamExists: () => Promise.resolve(true),
    forgetStream: () => {},
  };
  return { fake, context };
}

/** Reads from after `after` with pages of `limit` until `hasMore` is false; checks each page's shape. */
async function readToEnd(context: ReadContext, limit: number, after = 0n): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor = after;
  for (let pages = 0; pages < 10_000; pages++) {
    const page = await readPage(context, 0, cursor, limit);
    expect(page.events.length).toBeLessThanOrEqual(limit);
    events.push(...page.events);
    if (page.nextId !== undefined) cursor = BigInt(page.nextId);
    if (!page.hasMore) return events;
  }
  throw new Error("paging did not end");
}

const seqs = (events: readonly StoredEvent[]) => events.map((event) => Number(event.id));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("reads of a replicated stream whose replicas lag or do not answer", () => {
  it.each([1, 2, 3, 4, 5])(
    "seed %i: direct gets answered at random by the leader, a lagging follower and a silent one: every page complete, nothing skipped",
    async (seed) => {
      const { fake, context } = setup(3, { timeoutMs: 2_000 });
      fake.append(700);
      fake.applied = 400;
      const random = prng(seed);
      fake.route = () => {
        const r = random();
        return r < 0.4 ? "leader" : r < 0.8 ? "lagging" : "silent";
      };
      for (const limit of [1, 7, 50, 63]) {
        expect(seqs(await readToEnd(context, limit))).toEqual(range(1, 700));
      }
    },
  );

  it("a lagging follower that answers every direct get: the read does not stop at its 'no message' but reads on from the leader", async () => {
    const { fake, context } = setup(3);
    fake.append(300);
    fake.applied = 200;
    fake.route = () => "lagging";
    const page = await readPage(context, 0, 150n, 100);
    expect(seqs(page.events)).toEqual(range(151, 250));
    expect(page).toMatchObject({ nextId: "250", hasMore: true });
    expect(seqs(await readToEnd(context, 40, 150n))).toEqual(range(151, 300));
    // At the real end, the leader's "no message" ends the read.
    expect(await readPage(context, 0, 300n, 10)).toEqual({ events: [], nextId: undefined, hasMore: false });
  });

  it("a follower that follows nextId while the leader grows and the lagging replica trails: each event once", async () => {
    const { fake, context } = setup(3);
    const random = prng(42);
    fake.route = () => (random() < 0.5 ? "leader" : "lagging");
    const seen: number[] = [];
    let cursor = 0n;
    for (let round = 0; round < 40; round++) {
      fake.append(1 + Math.floor(random() * 30));
      // The follower applies some of what the leader has, never more.
      fake.applied = Math.min(fake.messages.length, fake.applied + Math.floor(random() * 40));
      const page = await readPage(context, 0, cursor, 25);
      seen.push(...seqs(page.events));
      if (page.nextId !== undefined) cursor = BigInt(page.nextId);
    }
    // Writes stop; every acknowledged write (the leader's) is read by the polls that follow.
    seen.push(...seqs(await readToEnd(context, 25, cursor)));
    expect(seen).toEqual(range(1, fake.messages.length));
  });

  it("replicas that leave direct gets unanswered: what they miss is asked of the leader, then the stream is read from it", async () => {
    const { fake, context } = setup(3);
    fake.append(500);
    fake.applied = 500;
    const random = prng(7);
    fake.route = () => (random() < 0.3 ? "silent" : "leader");
    const started = Date.now();
    expect(seqs(await readToEnd(context, 50))).toEqual(range(1, 500));
    expect(Date.now() - started).toBeLessThan(4_000); // one window's patience (200 ms), not a timeout
    expect(fake.requests.leader).toBeGreaterThan(400);
    expect(fake.requests.direct).toBeLessThan(100);
  });

  it("nobody answers for a while (a stream being created, a leader election): the read waits and asks again", async () => {
    const { fake, context } = setup(3);
    fake.append(10);
    fake.silentAll = true;
    setTimeout(() => {
      fake.silentAll = false;
    }, 500);
    expect(seqs(await readToEnd(context, 50))).toEqual(range(1, 10));
  });

  it("nobody answers at all: the read fails with a retryable error after timeoutMs", async () => {
    const { fake, context } = setup(3, { timeoutMs: 600 });
    fake.append(10);
    fake.silentAll = true;
    const started = Date.now();
    const error = await readPage(context, 0, 0n, 50).catch((e: unknown) => e);
    expect(isAdapterError(error) && error.isRetryable).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it("a single replica: its 'no message' is the end, and the leader API is never asked", async () => {
    const { fake, context } = setup(1);
    fake.append(120);
    expect(seqs(await readToEnd(context, 50))).toEqual(range(1, 120));
    expect(await readPage(context, 0, 120n, 50)).toEqual({ events: [], nextId: undefined, hasMore: false });
    expect(fake.requests.leader).toBe(0);
  });
});
