/**
 * Consumer-group read benchmark (issue 13): for Redis and JetStream, N events (~200 B, 8 shards) are
 * written through a bus, then read back in the same run by `bus.poll({ limit: 1000 })` in a loop (the
 * single-process rate, the ratios' denominator) and by a consumer group of 1, 2 and 3 members
 * (`reader.subscribe({ group, member })`, each member with a reader and a connection of its own, in
 * this process; each round a fresh group, so every member starts from the beginning). A group's time
 * runs from the members' start (so it includes taking the leases and the first rebalance) until every
 * event arrived; each path must deliver every event exactly once, or the run exits with code 1.
 *
 * Members share this process's one core: the figures show what the group machinery costs over a
 * plain poll, not the scaling of members on separate machines. The machine is shared: compare the
 * ratios (median over the rounds), not the absolute rates.
 * Environment: BENCH_GROUP_EVENTS (100,000), BENCH_GROUP_ROUNDS (3), BENCH_GROUP_BACKENDS
 * (redis,jetstream), REDIS_URL / NATS_URL (loopback only).
 */
import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { loadavg } from "node:os";
import { type GroupSubscription, createBus, createReader } from "@netmesh/core";
import { printTable } from "./measure.js";
import { type Backend, selectedBackends } from "./read-backends.js";
import { writeAll } from "./read-paths.js";
import { Tally, readEvents } from "./read-workload.js";

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new Error(`${name} must be in [${min}, ${max}]`);
  return value;
}

const EVENTS = intEnv("BENCH_GROUP_EVENTS", 100_000, 1_000, 1_000_000);
const ROUNDS = intEnv("BENCH_GROUP_ROUNDS", 3, 1, 7);
const SHARDS = 8;
const PAGE = 1_000;
const PATH_TIMEOUT_MS = 120_000;
const MEMBER_COUNTS = [1, 2, 3] as const;
const runId = `${randomBytes(3).toString("hex")}${process.pid}`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/** Reads the prefix's events with a group of `count` members; ms until all arrived exactly once. */
async function groupRead(backend: Backend, prefix: string, group: string, count: number): Promise<number> {
  const tally = new Tally(EVENTS);
  const readers = await Promise.all(
    Array.from({ length: count }, () => createReader({ adapter: backend.makeAdapter(prefix) })),
  );
  const subs: GroupSubscription[] = [];
  const started = performance.now();
  let done!: () => void;
  const complete = new Promise<void>((resolve) => {
    done = resolve;
  });
  const loops = readers.map(async (reader, i) => {
    const sub = reader.subscribe({
      group,
      member: `m${i}`,
      pageSize: PAGE,
      rebalanceMs: 250,
      leaseTtlMs: 3_000,
    });
    subs.push(sub);
    for await (const event of sub) {
      tally.addJson(event.json);
      if (tally.received >= EVENTS) done();
    }
  });
  const timeout = setTimeout(done, PATH_TIMEOUT_MS);
  await complete;
  const ms = performance.now() - started;
  clearTimeout(timeout);
  await Promise.all(subs.map((sub) => sub.close()));
  await Promise.all(loops);
  await Promise.all(readers.map((reader) => reader.close()));
  const problem = tally.problem?.();
  if (problem) throw new Error(`${backend.name} group of ${count}: ${problem}`);
  if (!tally.complete)
    throw new Error(`${backend.name} group of ${count}: ${tally.received} of ${EVENTS} in time`);
  return ms;
}

async function pollRead(backend: Backend, prefix: string): Promise<number> {
  const reader = await createReader({ adapter: backend.makeAdapter(prefix) });
  const tally = new Tally(EVENTS);
  const started = performance.now();
  let cursor: string | undefined;
  for (let polls = 0; polls < EVENTS; polls++) {
    const page = await reader.poll({ limit: PAGE, ...(cursor !== undefined && { cursor }) });
    for (const event of page.events) tally.addJson(event.json);
    cursor = page.cursor;
    if (!page.hasMore || performance.now() - started > PATH_TIMEOUT_MS) break;
  }
  const ms = performance.now() - started;
  await reader.close();
  if (!tally.complete) throw new Error(`${backend.name} poll: ${tally.received} of ${EVENTS}`);
  return ms;
}

/** Deletes the consumer groups' KV bucket of a JetStream prefix. */
async function deleteBucket(url: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: url, timeout: 2_000, reconnect: false });
  try {
    await (await jetstreamManager(nc)).streams.delete(`KV_${prefix}_groups`);
  } finally {
    await nc.close();
  }
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rate = (ms: number) => `${(((EVENTS / ms) * 1000) / 1000).toFixed(1)} k/s`;

async function main(): Promise<void> {
  const names = process.env.BENCH_GROUP_BACKENDS ?? "redis,jetstream";
  process.env.BENCH_READ_BACKENDS = names;
  const backends = selectedBackends();
  const { raws, bytes } = await readEvents(EVENTS);
  console.log(
    `group read bench: ${EVENTS} events of ~${bytes} B over ${SHARDS} shards, ${ROUNDS} rounds; load ${load()}`,
  );
  let failed = false;
  for (const backend of backends) {
    try {
      await backend.probe();
    } catch (error) {
      console.log(`${backend.name}: skipped, ${error instanceof Error ? error.message : String(error)}`);
      failed = true;
      continue;
    }
    const prefix = `nmgroup${runId}${backend.name.slice(0, 2)}`;
    try {
      const bus = await createBus({ adapter: backend.makeAdapter(prefix), shards: SHARDS });
      await writeAll(bus, raws);
      await bus.shutdown();
      const polls: number[] = [];
      const groups = new Map<number, number[]>(MEMBER_COUNTS.map((count) => [count, []]));
      const ratios = new Map<number, number[]>(MEMBER_COUNTS.map((count) => [count, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const poll = await pollRead(backend, prefix);
        polls.push(poll);
        for (const count of MEMBER_COUNTS) {
          const ms = await groupRead(backend, prefix, `bench-${round}-${count}`, count);
          groups.get(count)!.push(ms);
          ratios.get(count)!.push(poll / ms);
        }
      }
      console.log(`\n${backend.name} (${backend.where}), load ${load()}`);
      printTable([
        ["path", "median rate", "best rate", "ratio to poll (median)", "ratios per round"],
        ["bus.poll (reader, 1 process)", rate(median(polls)), rate(Math.min(...polls)), "1.00", ""],
        ...MEMBER_COUNTS.map((count) => {
          const times = groups.get(count)!;
          const perRound = ratios.get(count)!;
          return [
            `group, ${count} member${count > 1 ? "s" : ""}`,
            rate(median(times)),
            rate(Math.min(...times)),
            median(perRound).toFixed(2),
            perRound.map((r) => r.toFixed(2)).join(" "),
          ];
        }),
      ]);
    } catch (error) {
      console.log(`${backend.name}: FAILED ${error instanceof Error ? error.message : String(error)}`);
      failed = true;
    } finally {
      await backend.cleanup(prefix).catch(() => {});
      if (backend.name === "jetstream") await deleteBucket(backend.where, prefix).catch(() => {});
    }
  }
  console.log(`\nload average at the end: ${load()}`);
  if (failed) process.exitCode = 1;
}

const watchdog = setTimeout(() => {
  console.log("group read bench: watchdog (10 min) — exiting");
  process.exit(1);
}, 600_000);
watchdog.unref();
await main();
