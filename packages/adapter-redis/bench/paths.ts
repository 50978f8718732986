/**
 * The three ways of getting the same events into the same Redis that the benchmark compares. Each
 * returns a timed body (clock runs from the first event sent to the last one acknowledged) and checks
 * afterwards that Redis holds exactly what was sent.
 */
import { type RawEvent, createBus } from "@netmesh/core";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { RedisAdapter } from "../src/index.js";
import { streamKey } from "../src/keys.js";

/** Events prepared for all paths: text, partition key, shard (as the bus routes the key). */
export interface Prepared {
  readonly raw: readonly RawEvent[];
  readonly shards: Uint16Array;
  readonly shardCount: number;
}

/** Events fed to the bus per call (it waits for ring room between calls). */
const INGEST_CHUNK = 16_384;
/** Events per pipeline / addBulk call on the baseline paths. */
export const CLIENT_BATCH = 1_000;

/** XLEN of every stream of `prefix`, checked against the expected per-shard counts; then deletes them. */
async function verifyStreams(redis: Redis, prefix: string, expected: readonly number[], what: string) {
  for (const [shard, count] of expected.entries()) {
    const key = streamKey(prefix, shard);
    const length = await redis.xlen(key);
    if (length !== count) throw new Error(`${what}: ${key} holds ${length} entries, expected ${count}`);
  }
}

/** Per-shard event counts of the first `n` prepared events. */
export function perShard(prepared: Prepared, n: number): number[] {
  const counts = new Array<number>(prepared.shardCount).fill(0);
  for (let i = 0; i < n; i++) counts[prepared.shards[i]!]!++;
  return counts;
}

/** Deletes every key starting with `pattern` (a SCAN glob), in bounded batches. */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
}

/** A timed body plus its verification and clean-up. */
export interface Path {
  readonly run: () => Promise<void>;
  readonly verify: () => Promise<void>;
}

/** bus → RedisAdapter: the bus shards, batches and dispatches; `flush()` ends the clock. */
export async function busPath(url: string, prefix: string, prepared: Prepared, n: number): Promise<Path> {
  const adapter = new RedisAdapter({ url, prefix });
  const bus = await createBus({ adapter, shards: prepared.shardCount, backpressure: "block" });
  const checker = new Redis(url);
  return {
    async run() {
      for (let offset = 0; offset < n; offset += INGEST_CHUNK) {
        const chunk = prepared.raw.slice(offset, Math.min(n, offset + INGEST_CHUNK));
        const accepted = await bus.ingestRawManyOrWait(chunk);
        if (accepted !== chunk.length) throw new Error(`bus accepted ${accepted} of ${chunk.length}`);
      }
      await bus.flush();
    },
    async verify() {
      const report = await bus.shutdown();
      const { dispatched, dropped, rejected } = report.stats;
      if (dispatched !== n || dropped + rejected !== 0 || report.lossy) {
        throw new Error(`bus: dispatched ${dispatched} of ${n}, dropped ${dropped}, rejected ${rejected}`);
      }
      await verifyStreams(checker, prefix, perShard(prepared, n), "bus → redis");
      await deleteKeys(checker, `{${prefix}:*`);
      checker.disconnect();
    },
  };
}

/**
 * What users hand-write: an ioredis `pipeline()` of one XADD per event, one pipeline of CLIENT_BATCH
 * events in flight, the same events on the same streams, with the same entry fields the adapter stores
 * (`d` JSON, `t` timestamp, `m` message id) unless `fields` is "d-only".
 */
export async function naivePath(
  url: string,
  prefix: string,
  prepared: Prepared,
  n: number,
  fields: "same" | "d-only",
): Promise<Path> {
  const redis = new Redis(url);
  await redis.ping();
  const keys = Array.from({ length: prepared.shardCount }, (_, shard) => streamKey(prefix, shard));
  const producer = "9f86d081884c7d65";
  return {
    async run() {
      const sequences = new Array<number>(prepared.shardCount).fill(0);
      for (let offset = 0; offset < n; offset += CLIENT_BATCH) {
        const pipeline = redis.pipeline();
        const now = Date.now() * 1000;
        for (let i = offset; i < Math.min(n, offset + CLIENT_BATCH); i++) {
          const shard = prepared.shards[i]!;
          const json = prepared.raw[i]!.json;
          if (fields === "d-only") {
            pipeline.xadd(keys[shard]!, "*", "d", json);
          } else {
            const sequence = sequences[shard]!++;
            pipeline.xadd(
              keys[shard]!,
              "*",
              "d",
              json,
              "t",
              String(now + i - offset),
              "m",
              `${producer}:${shard}:${sequence}`,
            );
          }
        }
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error !== null);
        if (failed) throw failed[0];
      }
    },
    async verify() {
      await verifyStreams(redis, prefix, perShard(prepared, n), `naive pipeline (${fields})`);
      await deleteKeys(redis, `{${prefix}:*`);
      redis.disconnect();
    },
  };
}

/** BullMQ `Queue.addBulk` in chunks of CLIENT_BATCH jobs, one call in flight, one queue (as users do). */
export async function bullmqPath(url: string, prefix: string, prepared: Prepared, n: number): Promise<Path> {
  const queue = new Queue(`${prefix}-bullmq`, { connection: { url, maxRetriesPerRequest: null } });
  await queue.waitUntilReady();
  // BullMQ takes job data as values and serializes them itself: parse once, before the clock.
  const values: unknown[] = prepared.raw.slice(0, n).map((event) => JSON.parse(event.json));
  return {
    async run() {
      for (let offset = 0; offset < n; offset += CLIENT_BATCH) {
        const jobs = values
          .slice(offset, Math.min(n, offset + CLIENT_BATCH))
          .map((data) => ({ name: "token", data }));
        await queue.addBulk(jobs);
      }
    },
    async verify() {
      const waiting = await queue.getWaitingCount();
      if (waiting !== n) throw new Error(`bullmq: the queue holds ${waiting} jobs, expected ${n}`);
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}
