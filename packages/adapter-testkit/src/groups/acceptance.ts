import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { AcceptanceRole, ProducerReport } from "./acceptance-child.js";
import { type JoinChain, type TraceStep, joinChain } from "./acceptance-trace.js";

/** Options of {@link runGroupAcceptance}. */
export interface GroupAcceptanceOptions {
  /** Names the backend in what is printed. */
  readonly name: string;
  /** The adapter package's child script: it calls `runAcceptanceChild` with its adapter factory. */
  readonly script: string;
  /** Node options of the children (e.g. `["--import", "tsx"]` for a TypeScript script). */
  readonly execArgv?: readonly string[];
  /** The backend namespace (key or stream prefix) of the run; the caller removes it afterwards. */
  readonly namespace: string;
  /** Events per producer process. Default 250,000 (the acceptance figure; 4 producers: 1 M). */
  readonly eventsPerProducer?: number;
  readonly producers?: number;
  /**
   * Each producer spreads its events over this long, ms, so that a small run still streams while
   * members join, die and leave. Default: 12,000 below 100,000 events per producer, else 0 (flat out).
   */
  readonly spreadMs?: number;
  /** Lease TTL, ms. Default 5,000 (on a saturated machine a shorter one loses leases to event-loop stalls). */
  readonly ttlMs?: number;
  /** Rebalance period, ms. Default 250. */
  readonly rebalanceMs?: number;
  /** Page size of the members: the bound of the duplicates a SIGKILL leaves. Default 500. */
  readonly pageSize?: number;
}

/** What the run measured. */
export interface GroupAcceptanceFigures {
  readonly events: number;
  readonly produceMs: number;
  readonly totalMs: number;
  readonly joinMs: readonly number[];
  /** Where each join's time went, from the members' traced lease steps. */
  readonly joins: readonly JoinChain[];
  readonly takeoverMs: number;
  readonly leaveMs: number;
  readonly duplicates: number;
  readonly duplicateBound: number;
  readonly victimDelivered: number;
  readonly perMember: Readonly<Record<string, number>>;
  /** Slowest producer process, from its bus's creation to its shutdown, ms. */
  readonly slowestProducerMs: number;
  /** When each step happened, ms after the start. */
  readonly timeline: Readonly<Record<string, number>>;
}

interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  shards: number[];
  /** When the child sent its last shard list (its `Date.now()`). */
  shardsAt: number;
  delivered: number;
  readonly messages: Record<string, unknown>[];
}

const SHARDS = 8;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean, ms: number, every = 10): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error(`acceptance: timed out after ${ms} ms waiting for ${what}`);
    await pause(every);
  }
  return Date.now() - start;
}

/**
 * The consumer-group acceptance run with real processes over one backend: `producers` producer
 * processes (each its own bus and producer nonce) write `eventsPerProducer` events each to the same 8
 * shards while group members in other processes read them. Mid-stream a member joins (it must get
 * shards within two rebalance periods), one is SIGKILLed (its shards must be taken over within TTL + 1 s),
 * another joins, and one leaves cleanly (with no duplicate). Then every event must have been delivered
 * (the union equals what the producers dispatched, none dropped), message ids never collide, each
 * member saw each producer's keys in order, and the only duplicates are events the killed member
 * delivered after its last checkpoint, at most one page. Call it inside a vitest test.
 */
export async function runGroupAcceptance(options: GroupAcceptanceOptions): Promise<GroupAcceptanceFigures> {
  const perProducer = options.eventsPerProducer ?? 250_000;
  const producerCount = options.producers ?? 4;
  const ttlMs = options.ttlMs ?? 5_000;
  const rebalanceMs = options.rebalanceMs ?? 250;
  const pageSize = options.pageSize ?? 500;
  const total = perProducer * producerCount;
  const spreadMs = options.spreadMs ?? (perProducer < 100_000 ? 12_000 : 0);
  const dir = mkdtempSync(join(tmpdir(), "netmesh-acceptance-"));
  const children: Child[] = [];
  const started = Date.now();
  const timeline: Record<string, number> = {};
  const steps: TraceStep[] = [];
  const joins: JoinChain[] = [];
  const mark = (step: string) => {
    timeline[step] = Date.now() - started;
  };

  const spawn = (name: string, role: AcceptanceRole): Child => {
    const child: Child = {
      name,
      process: fork(options.script, [JSON.stringify(role)], {
        execArgv: [...(options.execArgv ?? [])],
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      }),
      shards: [],
      shardsAt: 0,
      delivered: 0,
      messages: [],
    };
    child.process.on("message", (message: Record<string, unknown>) => {
      if (message.type === "shards") {
        child.shards = message.shards as number[];
        child.shardsAt = message.at as number;
      } else if (message.type === "count") child.delivered = message.delivered as number;
      else if (message.type === "trace") steps.push(message as unknown as TraceStep);
      else {
        if (message.type === "closed") child.delivered = message.delivered as number; // the final count
        child.messages.push(message);
      }
    });
    children.push(child);
    return child;
  };
  const message = async (child: Child, type: string, ms: number): Promise<Record<string, unknown>> => {
    await until(`${child.name}: ${type}`, () => child.messages.some((m) => m.type === type), ms);
    return child.messages.find((m) => m.type === type)!;
  };
  const member = async (name: string): Promise<{ child: Child; readyAt: number }> => {
    const child = spawn(name, {
      role: "member",
      namespace: options.namespace,
      group: "acceptance",
      member: name,
      out: join(dir, name),
      ttlMs,
      rebalanceMs,
      pageSize,
    });
    const ready = await message(child, "ready", 30_000);
    return { child, readyAt: ready.at as number };
  };
  const owns = (members: readonly Child[]) => {
    const owned = members.flatMap((child) => child.shards);
    return owned.length === SHARDS && new Set(owned).size === SHARDS;
  };
  const delivered = () => children.reduce((sum, child) => sum + child.delivered, 0);
  const exited = (child: Child) =>
    new Promise((resolve) =>
      child.process.exitCode !== null || child.process.signalCode !== null
        ? resolve(null)
        : child.process.once("exit", resolve),
    );

  try {
    const m1 = (await member("m1")).child;
    const m2 = (await member("m2")).child;
    const producers = Array.from({ length: producerCount }, (_, producer) =>
      spawn(`p${producer}`, {
        role: "producer",
        namespace: options.namespace,
        producer,
        count: perProducer,
        keys: 64,
        shards: SHARDS,
        spreadMs,
      }),
    );
    // The shards exist once the producers wrote to them: m1 and m2 split them.
    await until("m1 and m2 own the 8 shards", () => owns([m1, m2]), 60_000);
    mark("split");
    const stream = Math.max(total, 1);
    const joinMs: number[] = [];

    // A member joins mid-stream: it must hold a shard within two rebalance periods (the others' tick, its retry).
    await until("5% delivered", () => delivered() >= stream * 0.05, 600_000);
    mark("m3 joins");
    const joined = await member("m3");
    joinMs.push(await until("m3 owns a shard", () => joined.child.shards.length > 0, 30_000, 5));
    joins.push(joinChain(steps, "m3", joined.readyAt, joined.child.shardsAt, joinMs.at(-1)!));
    const m3 = joined.child;

    // SIGKILL mid-stream: the survivors own every shard within TTL + 1 s.
    await until("25% delivered", () => delivered() >= stream * 0.25 && m2.delivered > 0, 600_000);
    mark("m2 killed");
    m2.process.kill("SIGKILL");
    const killedAt = Date.now();
    await exited(m2);
    m2.shards = [];
    await until("m1 and m3 own the 8 shards", () => owns([m1, m3]), ttlMs + 10_000, 5);
    const takeoverMs = Date.now() - killedAt;

    mark("m2 taken over");
    const again = await member("m4");
    joinMs.push(await until("m4 owns a shard", () => again.child.shards.length > 0, 30_000, 5));
    joins.push(joinChain(steps, "m4", again.readyAt, again.child.shardsAt, joinMs.at(-1)!));
    const m4 = again.child;

    // A clean leave mid-stream, once m4's join settled: its shards handed over (released, not left to
    // expire), none delivered twice.
    await until("a 3/3/2 split of m1, m3, m4", () => owns([m1, m3, m4]), 30_000, 5);
    await until("60% delivered", () => delivered() >= stream * 0.6, 600_000);
    mark("m3 leaves");
    const leftAt = Date.now();
    m3.process.kill("SIGTERM");
    await until("m1 and m4 own the 8 shards", () => owns([m1, m4]), 30_000, 5);
    const leaveMs = Date.now() - leftAt;
    await message(m3, "closed", 30_000);
    m3.shards = [];

    const reports = await Promise.all(
      producers.map((child) => message(child, "produced", 1_800_000) as Promise<unknown>),
    );
    const produced = reports as ProducerReport[];
    const produceMs = Date.now() - started;
    mark("produced");
    const dispatched = produced.reduce((sum, report) => sum + report.dispatched, 0);
    for (const report of produced) {
      expect(report.accepted).toBe(perProducer);
      expect(report.dropped).toBe(0);
    }
    expect(dispatched).toBe(total);

    const files = ["m1", "m2", "m3", "m4"];
    const lines = (name: string) => {
      try {
        return readFileSync(join(dir, name), "utf8").split("\n").filter(Boolean);
      } catch {
        return [];
      }
    };
    const distinct = () => {
      const events = new Set<string>();
      for (const line of files.flatMap(lines))
        events.add(line.slice(0, line.indexOf("|", line.indexOf("|") + 1)));
      return events.size;
    };
    const victimLines = lines("m2").length;
    await until(
      `${total} deliveries`,
      () => m1.delivered + m3.delivered + m4.delivered + victimLines >= total,
      1_800_000,
      100,
    );
    await until(`all ${total} events delivered`, () => distinct() >= total, 120_000, 1_000);
    for (const child of [m1, m4]) child.process.kill("SIGTERM");
    await Promise.all([m1, m4].map((child) => message(child, "closed", 30_000)));
    const totalMs = Date.now() - started;
    mark("all delivered");

    // Every delivery: `shard|id|messageId|{"p","k","s"}`.
    const counts = new Map<string, number>();
    const messageIds = new Set<string>();
    const perKey = new Map<string, number>();
    const victim = new Set<string>();
    const perMember: Record<string, number> = {};
    for (const name of files) {
      const last = new Map<string, { s: number; line: string }>();
      const mine = lines(name);
      perMember[name] = mine.length;
      for (const line of mine) {
        const [shard, id, messageId, json] = line.split("|") as [string, string, string, string];
        const event = `${shard}:${id}`;
        counts.set(event, (counts.get(event) ?? 0) + 1);
        if (name === "m2") victim.add(event);
        messageIds.add(messageId);
        const { p, k, s } = JSON.parse(json) as { p: number; k: number; s: number };
        const key = `${p}/${k}`;
        // Per member, each producer's key comes in the order it was produced.
        const previous = last.get(key);
        if (previous !== undefined && !(s > previous.s)) {
          expect.fail(
            `${name}: producer ${p} key ${k}: ${s} (${event} ${messageId}) after ${previous.s} (${previous.line})`,
          );
        }
        last.set(key, { s, line });
        perKey.set(key, Math.max(perKey.get(key) ?? -1, s));
      }
    }
    let duplicates = 0;
    for (const [event, count] of counts) {
      if (count > 1) {
        duplicates += count - 1;
        if (!victim.has(event)) expect.fail(`${event} delivered ${count} times, not by the killed member`);
      }
    }
    const figures: GroupAcceptanceFigures = {
      events: counts.size,
      produceMs,
      totalMs,
      joinMs,
      joins,
      takeoverMs,
      leaveMs,
      duplicates,
      duplicateBound: pageSize,
      victimDelivered: perMember.m2 ?? 0,
      perMember,
      slowestProducerMs: Math.round(Math.max(...produced.map((report) => report.ms))),
      timeline,
    };
    console.info(`${options.name} group acceptance: ${JSON.stringify(figures)}`);
    expect(counts.size).toBe(total); // the union is what was accepted: 0 missed
    expect(messageIds.size).toBe(total); // one message id per event: no collision across producers
    // Each producer's keys: sequences 0..n-1, the last one seen is the last one produced.
    expect(perKey.size).toBe(producerCount * 64);
    for (const [key, max] of perKey) {
      const k = Number(key.split("/")[1]);
      expect(max, key).toBe(Math.floor((perProducer - 1 - k) / 64));
    }
    expect(takeoverMs).toBeLessThan(ttlMs + 1_000);
    for (const ms of joinMs) expect(ms).toBeLessThan(2 * rebalanceMs);
    expect(duplicates).toBeLessThanOrEqual(pageSize);
    return figures;
  } finally {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A reader process started after a producer process scaled 4 → 8 shards and back to 4: it must
 * discover all 8 shards and read every event, those of the removed shards too.
 */
export async function runScaledReader(
  options: Pick<GroupAcceptanceOptions, "script" | "execArgv" | "namespace">,
  count = 20_000,
): Promise<void> {
  const run = (role: AcceptanceRole): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const child = fork(options.script, [JSON.stringify(role)], {
        execArgv: [...(options.execArgv ?? [])],
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      });
      let last: Record<string, unknown> | undefined;
      child.on("message", (message: Record<string, unknown>) => {
        last = message;
      });
      child.once("exit", (code) =>
        code === 0 && last !== undefined
          ? resolve(last)
          : reject(new Error(`${role.role} exited with ${code}`)),
      );
    });
  const produced = await run({ role: "scaler", namespace: options.namespace, count });
  expect(produced.dropped).toBe(0);
  expect(produced.dispatched).toBe(count);
  const read = await run({ role: "reader", namespace: options.namespace });
  expect(read.shards).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(read.distinct).toBe(count);
  expect(read.events).toBe(count);
}

/** Options of {@link describeGroupAcceptance}. */
export interface GroupAcceptanceSuiteOptions
  extends Pick<GroupAcceptanceOptions, "name" | "script" | "execArgv" | "eventsPerProducer"> {
  /** A fresh backend namespace from a short tag (the caller removes them afterwards). */
  namespace(tag: string): string;
}

/**
 * Registers the acceptance run ({@link runGroupAcceptance}) and the scaled reader
 * ({@link runScaledReader}) as vitest tests. Events per producer: `eventsPerProducer`, else the
 * environment's `NETMESH_ACCEPTANCE_EVENTS`, else 25,000 (CI's default; the acceptance figure is 250,000).
 */
export function describeGroupAcceptance(options: GroupAcceptanceSuiteOptions): void {
  const perProducer = options.eventsPerProducer ?? Number(process.env.NETMESH_ACCEPTANCE_EVENTS ?? 25_000);
  const child = { script: options.script, execArgv: options.execArgv ?? [] };
  describe(`consumer groups across processes on ${options.name} (acceptance)`, () => {
    it(`4 producer processes × ${perProducer} events; members join, are SIGKILLed and leave in other processes`, async () => {
      await runGroupAcceptance({
        name: options.name,
        ...child,
        namespace: options.namespace("accept"),
        eventsPerProducer: perProducer,
      });
    }, 1_800_000);
    it("a reader process started after a producer scaled 4 → 8 → 4 reads all 8 shards", async () => {
      await runScaledReader({ ...child, namespace: options.namespace("scaled") });
    }, 120_000);
  });
}
