/**
 * bus → JetStreamAdapter against the loop users write with the stock client (`js.publish` with a msgID,
 * default connection options, 1000 acks in flight), same events, same stream settings, same server,
 * in one run. Verifies what each path stored (count, and no message id twice), deletes its streams,
 * and prints events/s and the ratio. Bounded: BENCH_EVENTS events (default 150,000) per path and round,
 * BENCH_ROUNDS rounds (default 2), each path alternating, only to 127.0.0.1. BENCH_SHARDS (default 4)
 * sets the shard count of both paths.
 */
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createBus } from "@netmesh/core";
import { ensureNats } from "@netmesh/test-backends";
import { JetStreamAdapter, shardSubject, streamName } from "../src/index.js";
import { type JetStreamAdapterOptions, resolveOptions } from "../src/options.js";
import { managedConfig } from "../src/streams.js";
import { type CpuSample, cpuSample, makeEvents, serverPid } from "./support.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 150_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SHARDS = Number(process.env.BENCH_SHARDS ?? 4);
const IN_FLIGHT = 1000;
const url = process.env.NATS_URL ?? (await ensureNats());
const run = `bench${randomBytes(4).toString("hex")}`;

interface Result {
  readonly path: string;
  readonly round: number;
  readonly seconds: number;
  readonly cpu: CpuSample;
}

/** Creates the shard streams under `prefix` with the adapter's settings (both paths get the same). */
async function createStreams(prefix: string): Promise<void> {
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
  } finally {
    await nc.close();
  }
}

/** Messages stored under `prefix`, then deletes its streams. */
async function storedAndDelete(prefix: string): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    let messages = 0;
    for (let shard = 0; shard < SHARDS; shard++) {
      messages += (await jsm.streams.info(streamName(prefix, shard))).state.messages;
      await jsm.streams.delete(streamName(prefix, shard));
    }
    return messages;
  } finally {
    await nc.close();
  }
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`verification failed: ${what}`);
}

/** The stock client as users write it: default options, windows of 1000 publishes awaited together. */
async function stock(round: number, texts: readonly string[]): Promise<Result> {
  const prefix = `${run}s${round}`;
  await createStreams(prefix);
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  const producer = randomBytes(8).toString("hex");
  const subjects = Array.from({ length: SHARDS }, (_, shard) => shardSubject(prefix, shard));
  let duplicates = 0;
  const pid = serverPid(url);
  const before = cpuSample(pid);
  for (let from = 0; from < texts.length; from += IN_FLIGHT) {
    const acks = [];
    for (let i = from; i < Math.min(texts.length, from + IN_FLIGHT); i++) {
      const shard = i % SHARDS;
      acks.push(
        js.publish(subjects[shard]!, texts[i]!, { msgID: `${producer}:${shard}:${Math.floor(i / SHARDS)}` }),
      );
    }
    for (const ack of await Promise.all(acks)) if (ack.duplicate) duplicates++;
  }
  const cpu = cpuSample(pid, before);
  await nc.close();
  const stored = await storedAndDelete(prefix);
  check(stored === texts.length, `stock path stored ${stored} of ${texts.length}`);
  check(duplicates === 0, `stock path saw ${duplicates} duplicate acks`);
  return { path: "stock js.publish", round, seconds: cpu.wallMs / 1000, cpu };
}

/** The bus with this adapter: SHARDS shards (default 4), default batching, every event waited in (no drops). */
async function bus(round: number, values: readonly { key: string; text: string }[]): Promise<Result> {
  const prefix = `${run}b${round}`;
  await createStreams(prefix);
  const adapter = new JetStreamAdapter({ url, prefix });
  const eventBus = await createBus({ adapter, shards: SHARDS, backpressure: "block" });
  // Serialized and hashed before the clock starts, as the stock path's texts are built before it.
  const raw = values.map(({ key, text }) => eventBus.prepare(JSON.parse(text), { key }));
  check(
    raw.every((event, i) => event.json === values[i]!.text),
    "prepared texts differ from the events",
  );
  const pid = serverPid(url);
  const before = cpuSample(pid);
  for (let from = 0; from < raw.length; from += 10_000) {
    await eventBus.ingestRawManyOrWait(raw.slice(from, from + 10_000));
  }
  await eventBus.flush();
  const cpu = cpuSample(pid, before);
  const stats = eventBus.stats();
  check(
    stats.dispatched === values.length && stats.dropped === 0,
    `bus dispatched ${stats.dispatched}, dropped ${stats.dropped}`,
  );
  check(adapter.publishCounters.stored === values.length, `adapter stored ${adapter.publishCounters.stored}`);
  check(
    adapter.publishCounters.duplicates === 0,
    `adapter saw ${adapter.publishCounters.duplicates} duplicates`,
  );
  // Read everything back: every message id once, none missing.
  const ids = new Set<string>();
  let read = 0;
  for (let shard = 0; shard < SHARDS; shard++) {
    let cursor: string | undefined;
    for (;;) {
      const page = await adapter.pollShard(shard, cursor, 1000);
      for (const event of page.events) ids.add(event.messageId ?? "");
      read += page.events.length;
      cursor = page.nextId ?? cursor;
      if (!page.hasMore) break;
    }
  }
  check(
    read === values.length && ids.size === values.length,
    `read back ${read} events, ${ids.size} distinct ids`,
  );
  const report = await eventBus.shutdown();
  check(!report.lossy, "bus shutdown reported a loss");
  const stored = await storedAndDelete(prefix);
  check(stored === values.length, `bus path stored ${stored} of ${values.length}`);
  return { path: "bus → JetStreamAdapter", round, seconds: cpu.wallMs / 1000, cpu };
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function percent(value: number | undefined): string {
  return value === undefined ? "n/a" : `${Math.round(value)}%`;
}

const values = makeEvents(EVENTS);
const texts = values.map((value) => value.text);
const bytes = Math.round(texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0) / texts.length);
console.log(
  `@netmesh/adapter-jetstream bench: ${EVENTS} events of ~${bytes} B per path and round, ${ROUNDS} rounds, ` +
    `${SHARDS} shards, msg ids on every publish, server ${url}`,
);
console.log(
  `load average at start: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
const results: Result[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  results.push(await stock(round, texts));
  results.push(await bus(round, values));
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
const stockRate = rate("stock js.publish");
const busRate = rate("bus → JetStreamAdapter");
console.log("");
console.log(
  `stock js.publish (defaults, ${IN_FLIGHT} acks in flight): ${Math.round(stockRate).toLocaleString("en-US")} events/s`,
);
console.log(
  `bus → JetStreamAdapter (${SHARDS} shards, default batching):   ${Math.round(busRate).toLocaleString("en-US")} events/s`,
);
console.log(`ratio bus / stock: ${(busRate / stockRate).toFixed(2)}× (target ≥ 3×)`);
console.log(
  "verified per round: stored count = events, no duplicate acks, bus read-back = events with distinct ids; streams deleted",
);
console.log(
  `load average at end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
