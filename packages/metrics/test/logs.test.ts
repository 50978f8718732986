import { RedisAdapter } from "@netmesh/adapter-redis";
import { createBus, type EventBus, FatalError, TransientError } from "@netmesh/core";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { deleteKeys, uniquePrefix } from "./support/redis-keys.js";
import { ScriptedAdapter } from "./support/scripted-adapter.js";

/** A parsed pino JSON line. */
interface LogLine {
  level: number;
  msg: string;
  err?: Record<string, unknown> & { type?: string; message?: string; stack?: string };
  [field: string]: unknown;
}

/** A pino logger writing to memory (pino's own JSON output, as a file or stdout would get it). */
function memoryLogger(serializers: pino.LoggerOptions["serializers"] = {}) {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: "debug", base: null, serializers },
    { write: (text: string) => void lines.push(JSON.parse(text) as LogLine) },
  );
  return { logger, lines };
}

function only(lines: readonly LogLine[], msg: string): LogLine {
  const found = lines.filter((line) => line.msg === msg);
  expect(
    found.map((line) => line.msg),
    `log lines: ${lines.map((l) => l.msg).join(" | ")}`,
  ).toEqual([msg]);
  return found[0]!;
}

/** A socket-level cause, as a client library would produce it. */
function socketError(): Error {
  return Object.assign(new Error("socket hang up"), { code: "ECONNRESET", syscall: "read" });
}

const buses: EventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.shutdown()));
});

async function failingBus(error: Error, serializers: pino.LoggerOptions["serializers"] = {}) {
  const { logger, lines } = memoryLogger(serializers);
  const bus = await createBus({ adapter: new ScriptedAdapter([error]), shards: 1, logger });
  buses.push(bus);
  for (let i = 0; i < 3; i++) bus.ingest({ i });
  await bus.flush();
  return { bus, lines };
}

describe("an adapter failure logged through pino", () => {
  it("puts the error under err with type, message, stack and the cause chain (pino 9's std serializer)", async () => {
    const { lines } = await failingBus(new FatalError("backend says no", { cause: socketError() }));
    const line = only(lines, "batch dropped");
    expect(line).toMatchObject({
      level: 50,
      adapter: "memory",
      shard: 0,
      firstSequence: 0,
      events: 3,
      reason: "adapterRejected",
      uncertain: false,
      kind: "fatal",
    });
    const err = line.err!;
    expect(err.type).toBe("FatalError");
    expect(err.kind).toBe("fatal");
    // pino 9's err serializer folds an Error cause into the message (": cause") and the stack
    // ("caused by: …") rather than keeping a nested `cause` object; the cause's own fields are not kept.
    expect(err.message).toBe("backend says no: socket hang up");
    expect(err.stack).toMatch(/^FatalError: backend says no\n\s+at /);
    expect(err.stack).toMatch(/\ncaused by: Error: socket hang up\n\s+at /);
    expect(err).not.toHaveProperty("cause");
    // Nothing of the error hides elsewhere: no stringified copy beside err.
    expect(line).not.toHaveProperty("error");
  });

  // pino's serializer copies enumerable properties only: AdapterError.code is an own enumerable one.
  it("logs err.code (ADAPTER_FATAL)", async () => {
    const { lines } = await failingBus(new FatalError("backend says no", { cause: socketError() }));
    expect(only(lines, "batch dropped").err!.code).toBe("ADAPTER_FATAL");
  });

  it("keeps the cause as a nested object, with its code, under pino's errWithCause serializer", async () => {
    const { lines } = await failingBus(new FatalError("backend says no", { cause: socketError() }), {
      err: pino.stdSerializers.errWithCause,
    });
    const err = only(lines, "batch dropped").err!;
    expect(err.type).toBe("FatalError");
    expect(err.message).toBe("backend says no");
    expect(err.cause).toMatchObject({
      type: "Error",
      message: "socket hang up",
      code: "ECONNRESET",
      syscall: "read",
    });
    expect((err.cause as { stack: string }).stack).toMatch(/^Error: socket hang up\n/);
  });

  it("logs each retried failure as a warning with its err, then nothing more once the batch is stored", async () => {
    const { logger, lines } = memoryLogger();
    const adapter = new ScriptedAdapter([new TransientError("overloaded", { cause: socketError() })]);
    const bus = await createBus({ adapter, shards: 1, logger, retryBaseDelayMs: 1 });
    buses.push(bus);
    bus.ingest({ a: 1 });
    await bus.flush();
    await bus.shutdown();
    const line = only(lines, "batch failed, retrying");
    expect(line).toMatchObject({ level: 40, adapter: "memory", shard: 0, attempt: 1, kind: "transient" });
    expect(typeof line.delayMs).toBe("number");
    expect(line.err).toMatchObject({
      type: "TransientError",
      message: "overloaded: socket hang up",
      kind: "transient",
    });
    expect(line.err!.stack).toContain("caused by: Error: socket hang up");
    // The stable messages of the whole run, in order.
    expect(lines.map((l) => l.msg)).toEqual([
      "event bus started",
      "batch failed, retrying",
      "event bus shut down; nothing dropped",
    ]);
  });

  /** A bus whose topology listener throws, scaled up once: its log lines. */
  async function throwingListener(): Promise<LogLine[]> {
    const { logger, lines } = memoryLogger();
    const bus = await createBus({ logger, shards: 1, scaling: { autoStart: false, maxShards: 4 } });
    buses.push(bus);
    bus.onTopologyChange(() => {
      throw new RangeError("listener bug");
    });
    bus.manualScaleUp(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    return lines;
  }

  it("logs a throwing topology listener at error level with a stable message", async () => {
    expect(only(await throwingListener(), "topology listener threw").level).toBe(50);
  });

  it("logs a throwing topology listener under err", async () => {
    const line = only(await throwingListener(), "topology listener threw");
    expect(line.err?.type).toBe("RangeError");
  });
});

describe("a real Redis adapter failure logged through pino", () => {
  const url = inject("redisUrl");
  const prefix = uniquePrefix("logs");
  afterAll(() => deleteKeys(url, prefix));

  it("logs the classified error with the server's reply as its cause", async () => {
    // The shard's stream key holds a string: the append script's XADD gets WRONGTYPE, a fatal reply.
    const client = new Redis(url);
    await client.set(`{${prefix}:shard:0}`, "not a stream");
    client.disconnect();
    const { logger, lines } = memoryLogger();
    const bus = await createBus({ adapter: new RedisAdapter({ url, prefix }), shards: 1, logger });
    buses.push(bus);
    for (let i = 0; i < 5; i++) bus.ingest({ i });
    await bus.flush();

    const line = only(lines, "batch dropped");
    expect(line).toMatchObject({
      level: 50,
      adapter: "redis",
      reason: "adapterRejected",
      events: 5,
      kind: "fatal",
    });
    const err = line.err!;
    expect(err.type).toBe("FatalError");
    expect(err.message).toMatch(/^redis append to \{.*:shard:0\}: .*WRONGTYPE/);
    expect(err.stack).toMatch(/^FatalError: redis append/);
    // The cause is the adapter's scrubbed copy of ioredis's ReplyError: its stack follows.
    expect(err.stack).toMatch(/\ncaused by: ReplyError: .*WRONGTYPE/);
    // The failed command (whose arguments could hold secrets) is not copied into the log.
    expect(JSON.stringify(line)).not.toContain("not a stream");
    expect(err).not.toHaveProperty("command");
    expect(bus.stats().droppedBy.adapterRejected).toBe(5);
  });
});
