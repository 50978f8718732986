/**
 * The hand-written reads the bus's read paths are compared with: what a user writes against each
 * backend without the bus, reading the same stored events and JSON-parsing each one (the same work as
 * the bus paths). Connections are opened before the clock starts, as the bus's adapter is initialised
 * before its reads are timed. Each reader is bounded by a deadline.
 */
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { shardSubject, streamName } from "@netmesh/adapter-jetstream";
import { streamKey } from "@netmesh/adapter-redis";
import { type Adapter, MemoryAdapter } from "@netmesh/core";
import { Redis } from "ioredis";
import type { Tally } from "./read-workload.js";

/** Entries per read call of every hand-written reader. */
export const BASELINE_PAGE = 1_000;

/** What a hand-written reader reads: the events of `shards` under `prefix`. */
export interface BaselineTarget {
  /** The adapter the bus wrote through (the memory readers read its store). */
  readonly adapter: Adapter;
  readonly prefix: string;
  readonly shards: readonly number[];
  readonly tally: Tally;
  /** `performance.now()` after which the reader gives up. */
  readonly deadline: number;
}

/** A reader whose connection is open: `run` is timed, `close` is not. */
export interface OpenBaseline {
  run(): Promise<void>;
  close(): Promise<void>;
}

/** A hand-written reader of one backend. */
export interface Baseline {
  /** A short name for one line of output. */
  readonly label: string;
  /** What it does, in full. */
  readonly describe: string;
  /**
   * True for a raw baseline: the ratios divide by the fastest raw baseline of the backend in the run.
   * False for one shown for information only.
   */
  readonly raw: boolean;
  open(target: BaselineTarget): Promise<OpenBaseline>;
}

function checkDeadline(target: BaselineTarget, what: string): void {
  if (performance.now() > target.deadline) {
    throw new Error(`${what}: deadline passed after ${target.tally.received} events`);
  }
}

function memoryOf(target: BaselineTarget): MemoryAdapter {
  if (!(target.adapter instanceof MemoryAdapter)) throw new Error("a memory baseline needs a MemoryAdapter");
  return target.adapter;
}

/**
 * Memory: a bare loop over the store the adapter writes to (`MemoryStore.read`, the adapter's own
 * storage with nothing in between), 1,000 entries per call, shard by shard.
 */
export function memoryStoreBaseline(): Baseline {
  return {
    label: "hand: MemoryStore.read loop",
    describe: "a bare loop of MemoryStore.read(shard, after, 1000) per shard (the adapter's storage itself)",
    raw: true,
    async open(target) {
      const store = memoryOf(target).store;
      return {
        async run() {
          for (const shard of target.shards) {
            let after = 0;
            for (;;) {
              const { events, hasMore } = store.read(shard, after, BASELINE_PAGE);
              for (const event of events) target.tally.addJson(event.json);
              after += events.length;
              if (!hasMore) break;
              checkDeadline(target, "MemoryStore.read loop");
            }
          }
        },
        async close() {},
      };
    },
  };
}

/**
 * Memory, through the adapter's public read (`pollShard`: the contract's checks on top of the store),
 * 1,000 per call, shard by shard. Shown for information; the store loop is the raw baseline.
 */
export function memoryPollShardBaseline(): Baseline {
  return {
    label: "info: MemoryAdapter.pollShard loop",
    describe:
      "MemoryAdapter.pollShard(shard, after, 1000) loop per shard (the adapter's public read; info only)",
    raw: false,
    async open(target) {
      const memory = memoryOf(target);
      return {
        async run() {
          for (const shard of target.shards) {
            let after: string | undefined;
            for (;;) {
              const page = await memory.pollShard(shard, after, BASELINE_PAGE);
              for (const event of page.events) target.tally.addJson(event.json);
              after = page.nextId ?? after;
              if (!page.hasMore) break;
              checkDeadline(target, "pollShard loop");
            }
          }
        },
        async close() {},
      };
    },
  };
}

/** The `d` (event JSON) field of an XRANGE entry, as the adapter writes it (`d`, `t`, `m`). */
function jsonField(fields: readonly string[]): string {
  if (fields[0] === "d") return fields[1]!;
  const at = fields.indexOf("d");
  if (at < 0 || at % 2 !== 0) throw new Error("stream entry without a d field");
  return fields[at + 1]!;
}

/**
 * Redis: one ioredis client, `XRANGE key (last + COUNT 1000` in a loop per stream, the 4 streams read
 * concurrently (their commands share the one connection), JSON.parse of each `d` field.
 */
export function redisBaseline(url: string): Baseline {
  return {
    label: "hand: ioredis XRANGE COUNT 1000 loop",
    describe:
      "one ioredis client, XRANGE <stream> (<last> + COUNT 1000 in a loop per stream, the 4 streams concurrently, JSON.parse of each d field",
    raw: true,
    async open(target) {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      await redis.ping();
      return {
        async run() {
          await Promise.all(
            target.shards.map(async (shard) => {
              const key = streamKey(target.prefix, shard);
              let start = "-";
              for (;;) {
                const entries = await redis.xrange(key, start, "+", "COUNT", BASELINE_PAGE);
                for (const [, fields] of entries) target.tally.addJson(jsonField(fields));
                if (entries.length < BASELINE_PAGE) break;
                start = `(${entries[entries.length - 1]![0]}`;
                checkDeadline(target, "XRANGE loop");
              }
            }),
          );
        },
        async close() {
          redis.disconnect();
        },
      };
    },
  };
}

/**
 * JetStream, `@nats-io/jetstream` as documented, default connection options: per stream one ordered
 * consumer (`js.consumers.get(stream)`) and `consume({ max_messages: 1000 })` until the consumer
 * reports nothing pending, the 4 streams concurrently, JSON.parse of each payload. (The payload is the
 * event's JSON byte for byte; the adapter keeps the message id and timestamp in NATS headers, which
 * the client parses apart from the payload, so a hand-written reader needs nothing more.)
 */
export function jetStreamBaseline(url: string): Baseline {
  return {
    label: "hand: ordered consumer consume()",
    describe:
      "default connection, js.consumers.get(stream) (ordered) + consume({ max_messages: 1000 }) per stream until pending is 0, the 4 streams concurrently, JSON.parse(msg.string())",
    raw: true,
    async open(target) {
      const nc = await connect({ servers: url });
      const js = jetstream(nc);
      return {
        async run() {
          await Promise.all(
            target.shards.map(async (shard) => {
              const consumer = await js.consumers.get(streamName(target.prefix, shard), {
                filter_subjects: shardSubject(target.prefix, shard),
              });
              const messages = await consumer.consume({ max_messages: BASELINE_PAGE });
              const bound = setTimeout(
                () => messages.stop(),
                Math.max(0, target.deadline - performance.now()),
              );
              try {
                for await (const msg of messages) {
                  target.tally.addJson(msg.string());
                  if (msg.info.pending === 0) break;
                }
              } finally {
                clearTimeout(bound);
                messages.stop();
              }
              checkDeadline(target, "JetStream consume");
            }),
          );
        },
        async close() {
          await nc.close();
        },
      };
    },
  };
}

/**
 * JetStream with `fetch({ max_messages: 1000 })` batches on the ordered consumer instead of `consume()`
 * (one pull at a time, the baseline). Both count as raw: the faster one in the run is the base.
 */
export function jetStreamFetchBaseline(url: string): Baseline {
  return {
    label: "hand: ordered consumer fetch()",
    describe:
      "default connection, js.consumers.get(stream) (ordered) + fetch({ max_messages: 1000 }) in a loop per stream until pending is 0, the 4 streams concurrently, JSON.parse(msg.string())",
    raw: true,
    async open(target) {
      const nc = await connect({ servers: url });
      const js = jetstream(nc);
      return {
        async run() {
          await Promise.all(
            target.shards.map(async (shard) => {
              const consumer = await js.consumers.get(streamName(target.prefix, shard), {
                filter_subjects: shardSubject(target.prefix, shard),
              });
              for (let done = false; !done; ) {
                const batch = await consumer.fetch({ max_messages: BASELINE_PAGE, expires: 2_000 });
                let got = 0;
                for await (const msg of batch) {
                  got++;
                  target.tally.addJson(msg.string());
                  if (msg.info.pending === 0) {
                    done = true;
                    break; // ends the pull at once instead of waiting for it to expire
                  }
                }
                if (got === 0) done = true;
                checkDeadline(target, "JetStream fetch");
              }
            }),
          );
        },
        async close() {
          await nc.close();
        },
      };
    },
  };
}
