/**
 * Kinesis benchmark, every path in one run against one kinesalite (started here, in its own process):
 * writes of the same events through the bus with KinesisAdapter and through a hand-written PutRecords
 * loop (500 records per call, the same client settings), then reads of the bus's stream through
 * bus.poll, adapter.pollShard and a hand-written GetRecords loop. Prints rates, client and server CPU
 * and the ratios, and checks every count (stored records, events read).
 *
 * BENCH_EVENTS / BENCH_ROUNDS scale it (defaults 20,000 / 3). KINESIS_ENDPOINT uses another server.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { createBus } from "@netmesh/core";
import { type LocalKinesis, processCpuMs, startLocalKinesis } from "./local-kinesis.js";
import {
  benchClient,
  busPollLoop,
  busWrite,
  createStream,
  deleteStream,
  getRecordsLoop,
  pollShardLoop,
  putRecordsLoop,
  tokenEvents,
} from "./paths.js";

function count(name: string, fallback: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw new Error(`${name} must be in [1, ${max}]`);
  return value;
}

const EVENTS = count("BENCH_EVENTS", 20_000, 1_000_000);
const ROUNDS = count("BENCH_ROUNDS", 3, 10);

interface Measurement {
  readonly items: number;
  readonly ms: number;
  readonly clientCpu: number;
  readonly serverCpu: number | undefined;
}

/** Times `work` (which must handle `expected` items) and meters both processes' CPU. */
async function measure(expected: number, serverPid: number | undefined, work: () => Promise<number | void>) {
  const server0 = serverPid === undefined ? undefined : processCpuMs(serverPid);
  const client0 = process.cpuUsage();
  const started = performance.now();
  const handled = await work();
  const ms = performance.now() - started;
  const client = process.cpuUsage(client0);
  const server1 = serverPid === undefined ? undefined : processCpuMs(serverPid);
  if (typeof handled === "number" && handled !== expected)
    throw new Error(`counted ${handled}, expected ${expected}`);
  return {
    items: expected,
    ms,
    clientCpu: ((client.user + client.system) / 1000 / ms) * 100,
    serverCpu: server0 === undefined || server1 === undefined ? undefined : ((server1 - server0) / ms) * 100,
  } satisfies Measurement;
}

const rate = (m: Measurement) => (m.items / m.ms) * 1000;
const best = (runs: Measurement[]) => runs.reduce((a, b) => (rate(b) > rate(a) ? b : a));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const cpu = (value: number | undefined) => (value === undefined ? "n/a" : `${value.toFixed(0)}%`);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

function printTable(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  for (const [i, row] of rows.entries()) {
    console.log(
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
    );
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

const own: LocalKinesis | undefined = process.env.KINESIS_ENDPOINT ? undefined : await startLocalKinesis();
const endpoint = process.env.KINESIS_ENDPOINT ?? own!.endpoint;
const serverPid = own?.pid;
const client = benchClient(endpoint);
const tag = randomBytes(3).toString("hex");
let streams = 0;
const fresh = () => `bench-${tag}-${streams++}`;

try {
  console.log(
    `Kinesis benchmark: ${EVENTS.toLocaleString("en")} events per path, ${ROUNDS} rounds, 4 shards, kinesalite`,
  );
  console.log(`node ${process.version}, load average at start: ${load()}`);
  const events = tokenEvents(EVENTS, 1_000);
  const routing = await createBus({ shards: 4 }); // only to prepare raw events the way every bus does
  const raw = events.map((event) => routing.prepare(JSON.parse(event.json), { key: event.key }));
  await routing.shutdown();
  console.log(
    `event size: ${Buffer.byteLength(events[0]!.json)} B; events prepared before any clock starts\n`,
  );

  // Warm-up (not measured): JIT, sockets, kinesalite's first streams.
  const [warmBus, warmLoop] = [fresh(), fresh()];
  await createStream(client, warmLoop);
  const warming = await busWrite(endpoint, warmBus, raw.slice(0, 5_000));
  await warming.run();
  await warming.finish();
  await putRecordsLoop(client, warmLoop, events.slice(0, 5_000), 1)();
  for (const warm of [warmBus, warmLoop]) await deleteStream(client, warm);

  const runs = { bus: [], loop: [], loop4: [], busPoll: [], pollShard: [], getRecords: [] } as Record<
    string,
    Measurement[]
  >;
  for (let round = 1; round <= ROUNDS; round++) {
    const [loopStream, loop4Stream, busStream] = [fresh(), fresh(), fresh()];
    await createStream(client, loopStream);
    await createStream(client, loop4Stream);
    // The two compared writes go back to back, in alternating order, so neither always runs first.
    const writer = await busWrite(endpoint, busStream, raw);
    const writeBus = async () => {
      const measured = await measure(EVENTS, serverPid, writer.run);
      await writer.finish();
      return measured;
    };
    const writeLoop = () => measure(EVENTS, serverPid, putRecordsLoop(client, loopStream, events, 1));
    let loop: Measurement;
    let busRun: Measurement;
    if (round % 2 === 1) {
      loop = await writeLoop();
      busRun = await writeBus();
    } else {
      busRun = await writeBus();
      loop = await writeLoop();
    }
    const loop4 = await measure(EVENTS, serverPid, putRecordsLoop(client, loop4Stream, events, 4));
    // Reads of the bus's stream, in an order rotating per round; the raw GetRecords loop also proves
    // the stream holds exactly EVENTS records (no copies).
    const reads: [string, () => Promise<number>][] = [
      ["getRecords", () => getRecordsLoop(client, busStream)],
      ["pollShard", () => pollShardLoop(endpoint, busStream)],
      ["busPoll", () => busPollLoop(endpoint, busStream)],
    ];
    const read: Record<string, Measurement> = {};
    for (let i = 0; i < reads.length; i++) {
      const [name, work] = reads[(i + round) % reads.length]!;
      read[name] = await measure(EVENTS, serverPid, work);
    }
    const { getRecords, pollShard, busPoll } = read as Record<
      "getRecords" | "pollShard" | "busPoll",
      Measurement
    >;
    // The baseline's own stream, read back in full (the 4-in-flight loop counts what Kinesis acknowledged).
    if ((await getRecordsLoop(client, loopStream)) !== EVENTS)
      throw new Error("hand-written loop lost records");
    for (const stream of [loopStream, loop4Stream, busStream]) await deleteStream(client, stream);
    runs.bus!.push(busRun);
    runs.loop!.push(loop);
    runs.loop4!.push(loop4);
    runs.getRecords!.push(getRecords);
    runs.pollShard!.push(pollShard);
    runs.busPoll!.push(busPoll);
    console.log(
      `round ${round}: write bus ${Math.round(rate(busRun))}/s, PutRecords loop ${Math.round(rate(loop))}/s ` +
        `(${(rate(busRun) / rate(loop)).toFixed(2)}×); read bus.poll ${Math.round(rate(busPoll))}/s, ` +
        `pollShard ${Math.round(rate(pollShard))}/s, GetRecords loop ${Math.round(rate(getRecords))}/s`,
    );
  }

  const row = (name: string, path: string, against: string) => {
    const m = best(runs[path]!);
    const ratios = runs[path]!.map((run, i) => rate(run) / rate(runs[against]![i]!));
    return [
      name,
      Math.round(rate(m)).toLocaleString("en"),
      cpu(m.clientCpu),
      cpu(m.serverCpu),
      path === against ? "1.00×" : `${(rate(m) / rate(best(runs[against]!))).toFixed(2)}×`,
      path === against ? "" : `${median(ratios).toFixed(2)}×`,
    ];
  };
  console.log("");
  printTable([
    ["path (best of rounds)", "events/s", "client CPU", "server CPU", "÷ baseline", "median per round"],
    row("write: PutRecords loop, 500/call, 1 in flight (baseline)", "loop", "loop"),
    row("write: bus → KinesisAdapter (4 shards)", "bus", "loop"),
    row("write: PutRecords loop, 500/call, 4 in flight", "loop4", "loop"),
    row("read: GetRecords loop, 10,000/call (baseline)", "getRecords", "getRecords"),
    row("read: adapter.pollShard, pages of 10,000", "pollShard", "getRecords"),
    row("read: bus.poll, pages of 10,000", "busPoll", "getRecords"),
  ]);
  const writeRatio = median(runs.bus!.map((run, i) => rate(run) / rate(runs.loop![i]!)));
  console.log(
    `\nbus → kinesis vs hand-written PutRecords loop: median per round ${writeRatio.toFixed(2)}× ` +
      `(${writeRatio >= 0.9 ? "met" : "MISSED"}; target ≥ 0.9×)`,
  );
  console.log(
    "counts verified: the bus's and the baseline's streams hold exactly their events (read back with GetRecords);",
  );
  console.log("every read path returned every event; every PutRecords record was acknowledged");
  console.log(`load average at end: ${load()}`);
} finally {
  client.destroy();
  await own?.stop();
}
