import { type MsgHdrs, type NatsConnection, headers } from "@nats-io/nats-core";
import { TestProducer } from "@netmesh/adapter-testkit";
import { afterAll, describe, expect, it } from "vitest";
import { type JetStreamAdapter, shardSubject } from "../src/index.js";
import { readyAdapter } from "./support/adapter.js";
import { NATS_URL, deleteStreams, liveSignal, uniquePrefix, withConnection } from "./support/nats.js";

// nats-server before 2.9.16 drops a pull request without a word when a message meets it just past its
// expiry, before the server's expiry timer has sent the 408 (nats-io/nats-server#3942). A follower
// that trusts every pull to end with a status then waits for nothing until it gives the pull up. Here a
// burst of messages is stored across the expiry of a follower's pull, on several shards at once: a
// burst whose backlog the server is still delivering when the pull expires meets that window.

const prefix = uniquePrefix("expiry");
afterAll(() => deleteStreams(prefix));

const SHARDS = 8;
/** Followers start this far apart, so their pulls expire at different times and each burst is timed alone. */
const STAGGER_MS = 300;
const ROUNDS = 3;
const BURST = 240;
const PAD = "x".repeat(8 * 1024);
/** Every message of a burst must reach the follower within this (the stall it guards against is 5 s). */
const BOUND_MS = 2_000;

/** A pull request a follower sent, as a monitoring connection saw it. */
interface SeenPull {
  readonly at: number;
  readonly expiresMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Resolves once `done()` holds (checked every 5 ms), or rejects after `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

/** One burst's messages for `shard`, valid records, made up front so the burst goes out at once. */
function burstOf(shard: number, round: number): { data: string; headers: MsgHdrs }[] {
  return Array.from({ length: BURST }, (_, i) => {
    const h = headers();
    h.set("Nats-Msg-Id", `00000000000000ee:${shard}:${round * BURST + i + 1}`);
    h.set("Netmesh-Ts", String(Date.now()));
    return { data: `{"round":${round},"i":${i},"pad":"${PAD}"}`, headers: h };
  });
}

describe("readShard across the expiry of its pull", () => {
  it("delivers messages stored as a pull expires within 2 s, on every shard, round after round", async () => {
    const reader: JetStreamAdapter = await readyAdapter(prefix);
    const stop = new AbortController();
    const reached = new Array<bigint>(SHARDS).fill(0n);
    const pulls = new Map<string, SeenPull[]>();
    const followers: Promise<void>[] = [];
    try {
      await withConnection(NATS_URL, async (nc: NatsConnection) => {
        nc.subscribe("$JS.API.CONSUMER.MSG.NEXT.*.*", {
          callback: (error, msg) => {
            if (error !== null) return;
            const stream = msg.subject.split(".")[5]!;
            const body = JSON.parse(new TextDecoder().decode(msg.data)) as { expires?: number };
            const list = pulls.get(stream) ?? [];
            list.push({ at: performance.now(), expiresMs: (body.expires ?? 0) / 1e6 });
            pulls.set(stream, list);
          },
        });
        await nc.flush();
        const producer = new TestProducer();
        for (let shard = 0; shard < SHARDS; shard++) {
          await reader.onBatch(producer.batch(shard, ['{"warm":true}']), liveSignal());
        }
        for (let shard = 0; shard < SHARDS; shard++) {
          followers.push(
            (async () => {
              for await (const page of reader.readShard(shard, undefined, {
                signal: stop.signal,
                limit: 1000,
              })) {
                if (page.nextId !== undefined) reached[shard] = BigInt(page.nextId);
              }
            })().catch((error: unknown) => {
              if (!stop.signal.aborted) throw error;
            }),
          );
          await sleep(STAGGER_MS);
        }
        await until(() => reached.every((sequence) => sequence >= 1n), 10_000, "the warm-up events");
        for (let round = 0; round < ROUNDS; round++) {
          // Each shard's newest pull, and when it expires on the server.
          const targets = Array.from({ length: SHARDS }, (_, shard) => {
            const seen = pulls.get(reader.streamName(shard))!.at(-1)!;
            expect(seen.expiresMs).toBeGreaterThan(0);
            return { shard, expiry: seen.at + seen.expiresMs, burst: burstOf(shard, round) };
          }).sort((a, b) => a.expiry - b.expiry);
          const failures: string[] = [];
          const checks: Promise<void>[] = [];
          for (const [n, target] of targets.entries()) {
            // Just before the expiry, so the server is still delivering the burst when it passes.
            const start = target.expiry - (1 + ((n * 7 + round * 3) % 9));
            await sleep(start - performance.now() - 20);
            while (performance.now() < start) {
              // Busy-wait the last milliseconds: a timer is too coarse for this.
            }
            const subject = shardSubject(prefix, target.shard);
            for (const message of target.burst)
              nc.publish(subject, message.data, { headers: message.headers });
            await nc.flush();
            const last = BigInt(1 + (round + 1) * BURST);
            checks.push(
              until(
                () => reached[target.shard]! >= last,
                BOUND_MS,
                `shard ${target.shard} round ${round}`,
              ).catch((error: unknown) => void failures.push(String(error))),
            );
          }
          await Promise.all(checks);
          expect(failures).toEqual([]);
        }
      });
    } finally {
      stop.abort();
      await Promise.allSettled(followers);
      await reader.shutdown();
    }
  }, 60_000);
});
