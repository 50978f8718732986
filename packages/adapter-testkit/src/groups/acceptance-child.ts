import { openSync, writeSync } from "node:fs";
import { type Adapter, type EventBus, type Logger, createBus, createReader } from "@netmesh/core";
import { TRACED, type TraceStep } from "./acceptance-trace.js";

/** What a child process of the acceptance run is asked to be (its first argument, as JSON). */
export type AcceptanceRole =
  | {
      readonly role: "producer";
      readonly namespace: string;
      readonly producer: number;
      readonly count: number;
      readonly keys: number;
      readonly shards: number;
      readonly spreadMs: number;
    }
  | { readonly role: "scaler"; readonly namespace: string; readonly count: number }
  | { readonly role: "reader"; readonly namespace: string }
  | {
      readonly role: "member";
      readonly namespace: string;
      readonly group: string;
      readonly member: string;
      readonly out: string;
      readonly ttlMs: number;
      readonly rebalanceMs: number;
      readonly pageSize: number;
    };

/** What a producer reports when its bus shut down. */
export interface ProducerReport {
  readonly type: "produced";
  readonly accepted: number;
  readonly dispatched: number;
  readonly dropped: number;
  readonly ms: number;
}

const send = (message: unknown): Promise<void> =>
  new Promise((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()));

/** Ingests everything, waiting for room when the bus is full (so nothing is refused or dropped). */
async function ingestAll(
  bus: EventBus,
  from: number,
  count: number,
  event: (n: number) => [unknown, string],
  spreadMs = 0,
): Promise<number> {
  let accepted = 0;
  const started = performance.now();
  for (let n = from; n < from + count; n++) {
    // Spread over `spreadMs`: a small run still streams while members join, die and leave.
    if (spreadMs > 0 && n % 1_000 === 0) {
      const due = started + (spreadMs * (n - from)) / count - performance.now();
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
    }
    const [value, key] = event(n);
    let status = bus.ingest(value, { key });
    if (status === "full") status = await bus.ingestOrWait(value, { key });
    if (status === "accepted") accepted++;
    if ((n & 4095) === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return accepted;
}

async function producer(
  adapter: Adapter,
  role: Extract<AcceptanceRole, { role: "producer" }>,
): Promise<void> {
  const started = performance.now();
  const bus = await createBus({ adapter, shards: role.shards, backpressure: "fail-producer" });
  // Every producer writes the same keys (so the same shards); `s` counts per key and producer.
  const accepted = await ingestAll(
    bus,
    0,
    role.count,
    (n) => {
      const k = n % role.keys;
      return [{ p: role.producer, k, s: Math.floor(n / role.keys) }, `k${k}`];
    },
    role.spreadMs,
  );
  await bus.shutdown();
  const stats = bus.stats();
  const report: ProducerReport = {
    type: "produced",
    accepted,
    dispatched: stats.dispatched,
    dropped: stats.dropped,
    ms: performance.now() - started,
  };
  await send(report);
}

async function scaler(adapter: Adapter, role: Extract<AcceptanceRole, { role: "scaler" }>): Promise<void> {
  const bus = await createBus({
    adapter,
    shards: 4,
    scaling: { autoStart: false, maxShards: 8, minShards: 1 },
    backpressure: "fail-producer",
  });
  const half = Math.floor(role.count / 2);
  const event = (n: number): [unknown, string] => [{ n }, `k${n}`];
  let accepted = await ingestAll(bus, 0, half, event);
  bus.manualScaleUp(4);
  accepted += await ingestAll(bus, half, role.count - half, event);
  await bus.flush();
  // Scaling back removes four shards that still hold events: a reader must still deliver them.
  await bus.manualScaleDown(4);
  await bus.shutdown();
  const stats = bus.stats();
  await send({ type: "produced", accepted, dispatched: stats.dispatched, dropped: stats.dropped, ms: 0 });
}

async function reader(adapter: Adapter): Promise<void> {
  const reading = await createReader({ adapter });
  const seen = new Set<string>();
  let cursor: string | undefined;
  let events = 0;
  for (let polls = 0; polls < 1_000_000; polls++) {
    const page = await reading.poll({ limit: 1_000, ...(cursor === undefined ? {} : { cursor }) });
    for (const event of page.events) seen.add((JSON.parse(event.json) as { n: number }).n.toString());
    events += page.events.length;
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  const shards = reading.shardIds();
  await reading.close();
  await send({ type: "read", shards, events, distinct: seen.size });
}

/**
 * A logger that prints warnings and errors (a lost lease, a failed read) to stderr, for the run's log;
 * with NETMESH_ACCEPTANCE_LOG set, every line (shards taken and given up too) goes to that file. The
 * steps of a rebalance go to the parent too, which times each join from them.
 */
function warnings(name: string, onStep: (message: string) => void = () => {}): Logger {
  const file = process.env.NETMESH_ACCEPTANCE_LOG;
  const fd = file === undefined ? 2 : openSync(file, "a");
  const print = (level: string, toFile: boolean) => (fields: Record<string, unknown>, message: string) => {
    if (TRACED.has(message)) {
      const { err: _, ...traced } = fields;
      const step: TraceStep = { type: "trace", member: name, at: Date.now(), message, fields: traced };
      process.send?.(step);
      onStep(message);
    }
    if (!toFile) return;
    const { err, ...rest } = fields;
    const cause = err instanceof Error ? ` (${err.message})` : "";
    writeSync(fd, `${Date.now()} [${name}] ${level}: ${message}${cause} ${JSON.stringify(rest)}\n`);
  };
  return {
    debug: print("debug", file !== undefined),
    info: print("info", file !== undefined),
    warn: print("warn", true),
    error: print("error", true),
  };
}

async function member(adapter: Adapter, role: Extract<AcceptanceRole, { role: "member" }>): Promise<void> {
  // Each delivery is written (synchronously) before the next is asked for, so all that the member
  // checkpointed is on disk, even after a SIGKILL.
  const fd = openSync(role.out, "a");
  // The shards held go to the parent when they change: at once on a lease step, else within 20 ms.
  let report = () => {};
  const onStep = (message: string) => {
    if (message === "group: shard acquired" || message === "group: shard released") report();
  };
  const reading = await createReader({ adapter, shardRefreshMs: 250, logger: warnings(role.member, onStep) });
  const sub = reading.subscribe({
    group: role.group,
    member: role.member,
    leaseTtlMs: role.ttlMs,
    rebalanceMs: role.rebalanceMs,
    pageSize: role.pageSize,
  });
  let delivered = 0;
  let reported = "";
  report = () => {
    const shards = sub.shards().join(",");
    if (shards !== reported) {
      reported = shards;
      process.send?.({ type: "shards", shards: sub.shards(), at: Date.now() });
    }
  };
  const watch = setInterval(() => {
    report();
    process.send?.({ type: "count", delivered });
  }, 20);
  process.on("SIGTERM", () => {
    void reading.close().then(async () => {
      clearInterval(watch);
      await send({ type: "closed", delivered });
      process.exit(0);
    });
  });
  await send({ type: "ready", at: Date.now() });
  for await (const event of sub) {
    writeSync(fd, `${event.shard}|${event.id}|${event.messageId ?? ""}|${event.json}\n`);
    delivered++;
  }
}

/**
 * The body of a child process of {@link runGroupAcceptance}: reads its role from `process.argv[2]` and
 * plays it over adapters made by `create` (the adapter package's own script calls this).
 */
export async function runAcceptanceChild(create: (namespace: string) => Adapter): Promise<void> {
  const role = JSON.parse(process.argv[2] ?? "{}") as AcceptanceRole;
  const adapter = create(role.namespace);
  switch (role.role) {
    case "producer":
      await producer(adapter, role);
      break;
    case "scaler":
      await scaler(adapter, role);
      break;
    case "reader":
      await reader(adapter);
      break;
    case "member":
      await member(adapter, role);
      return; // ends on SIGTERM (or SIGKILL)
  }
  process.exit(0);
}
