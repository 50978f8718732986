import { describe, expect, it } from "vitest";
import {
  InvalidOptionsError,
  JetStreamReplicationProbe,
  type Logger,
  PeriodicProbe,
  type ProbeTimingOptions,
  RedisReplicationProbe,
  ReplicationMetricsRegistry,
  jetStreamShardStreams,
  redisShardStreams,
} from "../src/index.js";
import { BoundedCalls } from "../src/probe/bounded-calls.js";
import { OffsetHistory } from "../src/redis/offset-history.js";
import { parseReplicationInfo } from "../src/redis/replication-info.js";

/** A logger keeping every line. */
function recorder(): {
  logger: Logger;
  lines: { level: string; fields: Record<string, unknown>; message: string }[];
} {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const keep = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push({ level, fields, message });
  };
  return {
    logger: { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") },
    lines,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A probe whose tick is a function of the test's. */
class ScriptedProbe extends PeriodicProbe {
  released = 0;
  constructor(
    private readonly body: () => Promise<void>,
    options: ProbeTimingOptions,
  ) {
    super("scripted", options);
  }
  protected tick(): Promise<void> {
    return this.body();
  }
  protected async release(): Promise<void> {
    this.released++;
  }
}

describe("PeriodicProbe", () => {
  it("never runs two ticks at once, and ticks on its timer until stopped", async () => {
    let running = 0;
    let overlap = false;
    let ticks = 0;
    const probe = new ScriptedProbe(
      async () => {
        running++;
        if (running > 1) overlap = true;
        await sleep(30);
        ticks++;
        running--;
      },
      { intervalMs: 5 },
    );
    probe.start().start(); // idempotent
    await Promise.all([probe.probeOnce(), probe.probeOnce(), probe.probeOnce()]);
    await sleep(150);
    await probe.stop();
    const afterStop = ticks;
    expect(overlap).toBe(false);
    expect(afterStop).toBeGreaterThanOrEqual(4); // the three awaited ones and at least one timer tick
    expect(probe.ticks).toBe(afterStop);
    await probe.probeOnce(); // after stop: resolves without probing
    await sleep(40);
    expect(ticks).toBe(afterStop);
    expect(probe.released).toBe(1);
    await probe.shutdown();
    expect(probe.released).toBe(1);
  });

  it("keeps no process alive: its timer is unref'd", async () => {
    const refTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = refTimers();
    const control = setTimeout(() => {}, 60_000); // a ref'd timer does show: the check can fail
    expect(refTimers()).toBe(before + 1);
    clearTimeout(control);
    let ticks = 0;
    const probe = new ScriptedProbe(
      async () => {
        ticks++;
      },
      { intervalMs: 60_000 },
    ).start();
    await probe.probeOnce();
    expect(ticks).toBe(2); // start() ticks at once; the timer is armed for the next
    expect(refTimers()).toBe(before);
    await probe.stop();
  });

  it("sends a failing tick to the logger under err, never to the caller", async () => {
    const { logger, lines } = recorder();
    const boom = new Error("boom");
    const probe = new ScriptedProbe(() => Promise.reject(boom), { logger });
    await expect(probe.probeOnce()).resolves.toBeUndefined();
    expect(lines).toEqual([
      { level: "error", fields: { err: boom, probe: "scripted" }, message: "replication probe tick failed" },
    ]);
    await probe.stop();
  });

  it("rejects bad timing options with a coded error", () => {
    for (const options of [{ intervalMs: 0 }, { callTimeoutMs: Number.NaN }, { thrashWindowMs: 2 ** 31 }]) {
      expect(() => new ScriptedProbe(async () => {}, options)).toThrow(InvalidOptionsError);
    }
    try {
      new ScriptedProbe(async () => {}, { intervalMs: -1 });
    } catch (error) {
      expect(error).toMatchObject({ code: "INVALID_OPTIONS", name: "InvalidOptionsError" });
    }
  });
});

describe("BoundedCalls", () => {
  it("times a call out, and fails the next call to that target at once while the first still runs", async () => {
    const calls = new BoundedCalls(30);
    let release: () => void = () => {};
    const stuck = new Promise<string>((resolve) => {
      release = () => resolve("late");
    });
    const started = Date.now();
    await expect(calls.run("a", "INFO on a", () => stuck)).rejects.toMatchObject({ code: "PROBE_TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect(calls.run("a", "INFO on a", async () => "x")).rejects.toThrow(
      /previous call is still unanswered/,
    );
    await expect(calls.run("b", "INFO on b", async () => "b")).resolves.toBe("b");
    release();
    await sleep(1);
    await expect(calls.run("a", "INFO on a", async () => "again")).resolves.toBe("again");
    await expect(calls.run("c", "c", () => Promise.reject(new Error("refused")))).rejects.toThrow("refused");
  });
});

describe("shard stream names", () => {
  it("follows the adapters' layouts", () => {
    expect(redisShardStreams("myapp", 3)).toEqual(["{myapp:shard:0}", "{myapp:shard:1}", "{myapp:shard:2}"]);
    expect(jetStreamShardStreams(undefined, [4, 9, 4])).toEqual(["netmesh_shard_4", "netmesh_shard_9"]);
    expect(() => redisShardStreams("p", 0)).toThrow(InvalidOptionsError);
    expect(() => jetStreamShardStreams("p", [70_000])).toThrow(InvalidOptionsError);
    expect(() => jetStreamShardStreams("", 1)).toThrow(InvalidOptionsError);
  });

  it("is required exactly once in probe options", () => {
    const registry = new ReplicationMetricsRegistry();
    const connection = { request: async () => ({ data: new Uint8Array() }) };
    expect(() => new JetStreamReplicationProbe({ registry, connection })).toThrow(
      /exactly one of streams and shards/,
    );
    expect(() => new JetStreamReplicationProbe({ registry, connection, streams: ["s"], shards: 2 })).toThrow(
      InvalidOptionsError,
    );
    expect(() => new JetStreamReplicationProbe({ registry, streams: ["s"] })).toThrow(
      /connection and manager/,
    );
    const probe = new JetStreamReplicationProbe({ registry, connection, prefix: "orders", shards: 2 });
    expect(probe.streams).toEqual(["orders_shard_0", "orders_shard_1"]);
    expect(registry.snapshot().channels.map((c) => c.channel)).toEqual(["orders_shard_0", "orders_shard_1"]);
    // @ts-expect-error: a master client is required
    expect(() => new RedisReplicationProbe({ registry, shards: 1 })).toThrow(InvalidOptionsError);
  });
});

describe("parseReplicationInfo", () => {
  it("reads a master's view of its replicas", () => {
    const info = parseReplicationInfo(
      [
        "# Replication",
        "role:master",
        "connected_slaves:2",
        "slave0:ip=127.0.0.1,port=6380,state=online,offset=9007199254740993,lag=0",
        "slave1:ip=10.0.0.2,port=6381,state=wait_bgsave,offset=0,lag=7",
        "master_replid:b317b01f21e2c4d6c9edfafb0e6f13fdad7a53eb",
        "master_repl_offset:9007199254741000",
        "",
      ].join("\r\n"),
    );
    expect(info).toMatchObject({
      role: "master",
      replId: "b317b01f21e2c4d6c9edfafb0e6f13fdad7a53eb",
      offset: 9_007_199_254_741_000n, // past 2^53, exact
      masterAddress: undefined,
    });
    expect(info.replicas).toEqual([
      {
        address: "127.0.0.1:6380",
        ip: "127.0.0.1",
        port: 6380,
        state: "online",
        offset: 9_007_199_254_740_993n,
        ackAgeSeconds: 0,
      },
      {
        address: "10.0.0.2:6381",
        ip: "10.0.0.2",
        port: 6381,
        state: "wait_bgsave",
        offset: 0n,
        ackAgeSeconds: 7,
      },
    ]);
  });

  it("reads a replica's view of its link", () => {
    const info = parseReplicationInfo(
      "role:slave\nmaster_host:127.0.0.1\nmaster_port:6379\nmaster_link_status:down\nmaster_link_down_since_seconds:12\nslave_repl_offset:42\nmaster_replid:abc\nmaster_repl_offset:42\n",
    );
    expect(info).toMatchObject({
      role: "slave",
      masterAddress: "127.0.0.1:6379",
      linkUp: false,
      linkDownSeconds: 12,
      appliedOffset: 42n,
      replicas: [],
    });
  });
});

describe("OffsetHistory", () => {
  it("turns an offset into the time since the master passed it", () => {
    const history = new OffsetHistory();
    history.add(1_000, "r", 100n);
    history.add(2_000, "r", 200n);
    history.add(3_000, "r", 200n); // no writes for a second
    history.add(4_000, "r", 400n);
    expect(history.lagMs(400n, 4_000)).toBe(0);
    expect(history.lagMs(300n, 4_000)).toBe(500); // passed halfway between 3 s and 4 s
    expect(history.lagMs(150n, 4_500)).toBe(3_000); // passed at 1.5 s
    expect(history.lagMs(200n, 4_000)).toBe(1_000); // 200 was the offset until 3 s
    expect(history.lagMs(50n, 4_000)).toBe(3_000); // before the history: at least its age
    history.add(5_000, "other", 10n); // a new replication history starts over
    expect(history.lagMs(5n, 6_000)).toBe(1_000);
  });

  it("stays bounded", () => {
    const history = new OffsetHistory(4, 60_000);
    for (let i = 0; i < 100; i++) history.add(i * 10, "r", BigInt(i));
    expect(history.lagMs(0n, 990)).toBe(30); // only the last 4 samples (960…990) remain
  });
});
