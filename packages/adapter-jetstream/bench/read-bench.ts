/**
 * Read throughput: `pollShard(shard, cursor, 1000)` in a loop (and `bus.poll({ limit: 1000 })`) against
 * the read users write by hand with the stock client (one ordered consumer per stream, `fetch()` of
 * 1,000 messages at a time), on the same events in the same run. Every path JSON-parses every event
 * and is verified the same cheap way: sequences strictly increase per stream (so nothing is read
 * twice) and the count is the number stored (so nothing is missing).
 *
 * Bounded: BENCH_READ_EVENTS events (default 100,000, ~200 B each) over BENCH_SHARDS streams (default
 * 4), written once through a bus, then BENCH_READ_ROUNDS rounds (default 2) of each path, alternating,
 * all reading the streams' shards in parallel. Only to 127.0.0.1 (the shared server, started if
 * missing, or NATS_URL). The streams are deleted at the end.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createBus } from "@netmesh/core";
import { silentLogger } from "@netmesh/core/adapter";
import { ensureNats } from "@netmesh/test-backends";
import { shardSubject, streamName } from "../src/index.js";
import { type JetStreamAdapterOptions, resolveOptions } from "../src/options.js";
import { managedConfig } from "../src/streams.js";
import { type CpuSample, cpuSample, makeEvents, serverPid } from "./support.js";

const EVENTS = Number(process.env.BENCH_READ_EVENTS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_READ_ROUNDS ?? 4);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 4);
const PAGE = 1_000;
const url = process.env.NATS_URL ?? (await ensureNats());
const prefix = `rbench${randomBytes(4).toString("hex")}`;
const pid = serverPid(url);

// The adapter as users run it: the built package (the hand-written path runs the client's built code
// too). Run `npx tsup` first; with no dist, or one older than the sources, the sources are measured
// (through tsx, which adds its own cost) and the result says so.
const packageRoot = fileURLToPath(new URL("..", import.meta.url));
const built = `${packageRoot}dist/index.js`;
const builtFresh =
  existsSync(built) &&
  readdirSync(`${packageRoot}src`).every(
    (file) => statSync(`${packageRoot}src/${file}`).mtimeMs <= statSync(built).mtimeMs,
  );
const { JetStreamAdapter } = (
  builtFresh
    ? await import(new URL("../dist/index.js", import.meta.url).href) // a path, not a module name: dist may not exist
    : await import("../src/index.js")
) as typeof import("../src/index.js");
const measured = builtFresh
  ? "dist (built package)"
  : "src through tsx (dist missing or stale: run npx tsup)";

interface Result {
  readonly path: string;
  readonly round: number;
  readonly seconds: number;
  readonly cpu: CpuSample;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`verification failed: ${what}`);
}

/** Creates the streams with the adapter's settings and writes the events through a bus. */
async function write(): Promise<number[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const settings = managedConfig(resolveOptions({ url, prefix } satisfies JetStreamAdapterOptions));
    for (let shard = 0; shard < SHARDS; shard++) {
      await jsm.streams.add({
        name: streamName(prefix, shard),
        subjects: [shardSubject(prefix, shard)],
        ...settings,
      });
    }
    const adapter = new JetStreamAdapter({ url, prefix });
    const bus = await createBus({ adapter, shards: SHARDS, backpressure: "block", logger: silentLogger });
    const events = makeEvents(EVENTS);
    for (let from = 0; from < events.length; from += 10_000) {
      await bus.ingestManyOrWait(
        events.slice(from, from + 10_000).map(({ key, text }) => ({ data: JSON.parse(text), key })),
      );
    }
    await bus.flush();
    const report = await bus.shutdown();
    check(!report.lossy && bus.stats().dispatched === EVENTS, "the bus did not store every event");
    const counts: number[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      counts.push((await jsm.streams.info(streamName(prefix, shard))).state.messages);
    }
    check(
      counts.reduce((a, b) => a + b, 0) === EVENTS,
      `stored ${counts.join("+")} messages, expected ${EVENTS}`,
    );
    return counts;
  } finally {
    await nc.close();
  }
}

async function deleteStreams(): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    for (let shard = 0; shard < SHARDS; shard++) await jsm.streams.delete(streamName(prefix, shard));
  } finally {
    await nc.close();
  }
}

/**
 * The stock client as users write it: one ordered consumer per stream, `fetch()` 1,000 at a time (the
 * last one only what is left, known from the stream's message count: a fetch asking for more than
 * there is waits until it expires).
 */
async function handWritten(round: number, counts: readonly number[]): Promise<Result> {
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const before = cpuSample(pid);
  const read = await Promise.all(
    counts.map(async (count, shard) => {
      const consumer = await js.consumers.get(streamName(prefix, shard));
      let n = 0;
      let last = 0;
      while (n < count) {
        // Never more than what is left: a fetch asking for more waits out its expiry at the end.
        const messages = await consumer.fetch({ max_messages: Math.min(PAGE, count - n), expires: 5_000 });
        for await (const m of messages) {
          JSON.parse(m.string());
          check(m.seq > last, `stream ${shard}: sequence ${m.seq} after ${last}`);
          last = m.seq;
          n++;
        }
      }
      await consumer.delete().catch(() => {});
      return n;
    }),
  );
  const cpu = cpuSample(pid, before);
  await nc.close();
  check(read.reduce((a, b) => a + b, 0) === EVENTS, `hand-written read ${read.join("+")}`);
  return { path: "hand-written (ordered consumer + fetch)", round, seconds: cpu.wallMs / 1000, cpu };
}

/** `pollShard(shard, cursor, 1000)` until `hasMore` is false, every shard at once. */
async function pollShardLoop(round: number): Promise<Result> {
  const adapter = new JetStreamAdapter({ url, prefix });
  await adapter.init({ logger: silentLogger });
  const before = cpuSample(pid);
  const read = await Promise.all(
    Array.from({ length: SHARDS }, async (_, shard) => {
      let n = 0;
      let cursor: string | undefined;
      let last = 0;
      for (;;) {
        const page = await adapter.pollShard(shard, cursor, PAGE);
        for (const event of page.events) {
          JSON.parse(event.json);
          const id = Number(event.id);
          check(id > last, `shard ${shard}: id ${event.id} after ${last}`);
          last = id;
          n++;
        }
        cursor = page.nextId ?? cursor;
        if (!page.hasMore) return n;
      }
    }),
  );
  const cpu = cpuSample(pid, before);
  await adapter.shutdown();
  // Ids strictly increase per stream (so none twice) and the count is the stored count (so none missing).
  check(read.reduce((a, b) => a + b, 0) === EVENTS, `pollShard read ${read.join("+")}`);
  return { path: "adapter.pollShard(…, 1000)", round, seconds: cpu.wallMs / 1000, cpu };
}

/** `bus.poll({ limit: 1000, cursor })` until `hasMore` is false (the bus splits the limit over shards). */
async function busPoll(round: number): Promise<Result> {
  const adapter = new JetStreamAdapter({ url, prefix });
  const bus = await createBus({ adapter, shards: SHARDS, logger: silentLogger });
  const before = cpuSample(pid);
  const last = new Map<number, number>();
  let n = 0;
  let cursor: string | undefined;
  for (;;) {
    const result = await bus.poll({ limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
    check(result.failedShards.length === 0, `bus.poll failed shards ${result.failedShards.join(",")}`);
    for (const event of result.events) {
      JSON.parse(event.json);
      const id = Number(event.id);
      check(id > (last.get(event.shard) ?? 0), `shard ${event.shard}: id ${event.id} not increasing`);
      last.set(event.shard, id);
      n++;
    }
    cursor = result.cursor;
    if (!result.hasMore) break;
  }
  const cpu = cpuSample(pid, before);
  await bus.shutdown();
  check(n === EVENTS, `bus.poll read ${n} events`);
  return { path: "bus.poll({ limit: 1000 })", round, seconds: cpu.wallMs / 1000, cpu };
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function percent(value: number | undefined): string {
  return value === undefined ? "n/a" : `${Math.round(value)}%`;
}

console.log(
  `@netmesh/adapter-jetstream read bench: ${EVENTS} events of ~200 B over ${SHARDS} streams, ${ROUNDS} rounds, pages of ${PAGE}, server ${url}, adapter from ${measured}`,
);
console.log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
const results: Result[] = [];
try {
  const counts = await write();
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which path goes first, so neither always reads a cache the other warmed.
    if (round % 2 === 1) {
      results.push(await handWritten(round, counts));
      results.push(await pollShardLoop(round));
    } else {
      results.push(await pollShardLoop(round));
      results.push(await handWritten(round, counts));
    }
    results.push(await busPoll(round));
  }
} finally {
  await deleteStreams();
}
console.log("");
console.log(row(["round", "path", "events", "seconds", "events/s", "client CPU", "server CPU"]));
console.log(row(["---", "---", "---:", "---:", "---:", "---:", "---:"]));
for (const result of results) {
  console.log(
    row([
      String(result.round),
      result.path,
      String(EVENTS),
      result.seconds.toFixed(2),
      Math.round(EVENTS / result.seconds).toLocaleString("en-US"),
      percent(result.cpu.clientPercent),
      percent(result.cpu.serverPercent),
    ]),
  );
}
const rate = (path: string) => {
  const chosen = results.filter((result) => result.path === path);
  return (EVENTS * chosen.length) / chosen.reduce((sum, result) => sum + result.seconds, 0);
};
const hand = rate("hand-written (ordered consumer + fetch)");
const poll = rate("adapter.pollShard(…, 1000)");
const viaBus = rate("bus.poll({ limit: 1000 })");
const fmt = (value: number) => Math.round(value).toLocaleString("en-US");
console.log("");
console.log(`hand-written ordered consumer + fetch: ${fmt(hand)} events/s`);
console.log(`adapter.pollShard(…, 1000):            ${fmt(poll)} events/s`);
console.log(`bus.poll({ limit: 1000 }):             ${fmt(viaBus)} events/s`);
console.log(`ratio pollShard / hand-written: ${(poll / hand).toFixed(2)}× (target ≥ 0.8×)`);
console.log(`ratio bus.poll / hand-written:  ${(viaBus / hand).toFixed(2)}×`);
console.log(
  "verified per round and path: every event read once (sequences increasing, count = stored), JSON-parsed; streams deleted",
);
console.log(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
