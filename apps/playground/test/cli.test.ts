import { describe, expect, it } from "vitest";
import { DEFAULTS, EXIT_OK, EXIT_USAGE, main, parseCliArgs } from "../src/cli.js";

function capture(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { isTTY, write: (text: string) => err.push(text) },
    },
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}

function errorOf(argv: string[]): string {
  const parsed = parseCliArgs(argv);
  if (parsed.kind !== "error") throw new Error(`expected an error for ${argv.join(" ")}, got ${parsed.kind}`);
  return parsed.message;
}

describe("parseCliArgs", () => {
  it("applies the defaults", () => {
    expect(parseCliArgs([])).toEqual({
      kind: "run",
      options: {
        ...DEFAULTS,
        quiet: false,
        json: false,
        adapter: "memory",
        url: undefined,
        adapterOptions: {},
        replica: false,
        scenario: "steady",
        members: 3,
        rate: undefined,
        dashboard: false,
        port: undefined,
        linger: undefined,
      },
    });
  });

  it("reads every flag, with k/m suffixes and digit separators", () => {
    const parsed = parseCliArgs([
      "--sessions=1_500",
      "--events",
      "1.5m",
      "--shards",
      "8",
      "--seed",
      "4294967295",
      "--backpressure",
      "sample:16",
      "-q",
      "--json",
    ]);
    expect(parsed).toMatchObject({
      kind: "run",
      options: {
        sessions: 1500,
        events: 1_500_000,
        shards: 8,
        seed: 4_294_967_295,
        backpressure: { mode: "sample", rate: 16 },
        quiet: true,
        json: true,
      },
    });
    expect(parseCliArgs(["--events", "20k", "--sessions", "20"])).toMatchObject({
      options: { events: 20_000 },
    });
    expect(parseCliArgs(["--backpressure", "sample"])).toMatchObject({
      options: { backpressure: { mode: "sample", rate: 8 } },
    });
    for (const mode of ["block", "drop-oldest", "drop-newest", "fail-producer"]) {
      expect(parseCliArgs(["--backpressure", mode])).toMatchObject({ options: { backpressure: mode } });
    }
  });

  it("reads the adapter, scenario and dashboard flags", () => {
    expect(
      parseCliArgs([
        "--adapter",
        "redis",
        "--url",
        "redis://127.0.0.1:6390",
        "--adapter-option",
        "commandTimeoutMs=2000",
        "--adapter-option=dedupWindowMs=forever",
        "--adapter-option",
        "flag=true",
        "--scenario",
        "group",
        "--members",
        "5",
        "--rate",
        "20k",
        "--dashboard",
        "--port",
        "8080",
        "--dashboard-linger",
        "30",
      ]),
    ).toMatchObject({
      kind: "run",
      options: {
        adapter: "redis",
        url: "redis://127.0.0.1:6390",
        adapterOptions: { commandTimeoutMs: 2000, dedupWindowMs: "forever", flag: true },
        scenario: "group",
        members: 5,
        rate: 20_000,
        dashboard: true,
        port: 8080,
        linger: 30,
      },
    });
    for (const adapter of ["memory", "noop", "redis", "jetstream", "kinesis"]) {
      expect(parseCliArgs(["--adapter", adapter])).toMatchObject({ options: { adapter } });
    }
    for (const scenario of ["steady", "burst", "outage", "group"]) {
      expect(parseCliArgs(["--scenario", scenario])).toMatchObject({ options: { scenario } });
    }
  });

  it("recognises --help and -h", () => {
    expect(parseCliArgs(["--help"])).toEqual({ kind: "help" });
    expect(parseCliArgs(["--sessions", "3", "-h"])).toEqual({ kind: "help" });
  });

  it.each([
    [["--sessions", "0"], /--sessions must be a whole number from 1 to 1000000, got "0"/],
    [["--sessions", "abc"], /--sessions must be a whole number .* got "abc"/],
    [["--sessions", "-5"], /--sessions/],
    [["--events", "1.2345k"], /--events must be a whole number/],
    [["--events", "1e6"], /--events must be a whole number/],
    [["--shards", "0"], /--shards must be a whole number from 1 to 1024/],
    [["--shards", "2000"], /--shards must be a whole number from 1 to 1024/],
    [["--seed", "4294967296"], /--seed must be a whole number from 0 to 4294967295/],
    [["--seed", "0x10"], /--seed/],
    [["--backpressure", "lossy"], /--backpressure must be block, drop-oldest, .* got "lossy"/],
    [["--backpressure", "sample:0"], /--backpressure must be/],
    [
      ["--sessions", "100", "--events", "399"],
      /--events \(399\) must be at least 4 per session \(400 for 100 sessions\)/,
    ],
    [["--nope"], /Unknown option '--nope'/],
    [["--sessions"], /--sessions/],
    [["extra"], /Unexpected argument 'extra'/],
    [["--quiet=yes"], /--quiet/],
    [["--adapter", "kafka"], /--adapter must be memory, noop, redis, jetstream, kinesis, got "kafka"/],
    [["--scenario", "chaos"], /--scenario must be steady, burst, outage, group, got "chaos"/],
    [["--adapter-option", "nokey"], /--adapter-option must be key=value/],
    [
      ["--adapter", "redis", "--adapter-option", "prefix=x"],
      /--adapter-option prefix is set by the playground/,
    ],
    [["--url", "redis://127.0.0.1:1"], /--url has no meaning for --adapter memory/],
    [["--port", "8080"], /--port and --dashboard-linger need --dashboard/],
    [["--dashboard", "--port", "70000"], /--port must be a whole number from 0 to 65535/],
    [["--members", "0"], /--members must be a whole number from 1 to 64/],
  ])("rejects %j", (argv, message) => {
    expect(errorOf(argv)).toMatch(message);
  });
});

describe("main", () => {
  it("prints the usage for --help and exits 0", async () => {
    const c = capture();
    expect(await main(["--help"], c.io)).toBe(EXIT_OK);
    expect(c.stdout()).toMatch(/^Usage: netmesh-playground \[options\]/);
    expect(c.stdout()).toContain("--backpressure");
    expect(c.stderr()).toBe("");
  });

  it("exits 2 with a clear message for a bad flag, running nothing", async () => {
    const c = capture();
    expect(await main(["--shards", "many"], c.io)).toBe(EXIT_USAGE);
    expect(c.stderr()).toBe(
      'netmesh-playground: --shards must be a whole number from 1 to 1024, got "many"\nTry --help.\n',
    );
    expect(c.stdout()).toBe("");
  });

  it("runs, prints the summary and its verdict, and exits 0", async () => {
    const c = capture();
    expect(await main(["--sessions", "5", "--events", "3000", "--quiet"], c.io)).toBe(EXIT_OK);
    const text = c.stdout();
    for (const heading of [
      "Timing",
      "Events",
      "Ingest paths",
      "Shards",
      "Event types (read back)",
      "Verification",
    ]) {
      expect(text).toContain(`\n${heading}\n`);
    }
    expect(text).toMatch(/dropped +0 +evicted 0, adapterRejected 0/);
    expect(text).toContain("scenario steady, memory adapter: in-process MemoryStore\n");
    expect(text).toContain("\nDiagnostics (diagnostics_channel)\n");
    expect(text).toMatch(/sessions intact +5 \/ 5/);
    expect(text).toMatch(/\nOK: every accepted event came back \([\d,]+ events\)\n$/);
    expect(c.stderr()).toBe("");
  });

  it("exits 2 for a scenario the adapter cannot run, naming why", async () => {
    const c = capture();
    expect(await main(["--scenario", "outage", "--quiet"], c.io)).toBe(EXIT_USAGE);
    expect(c.stderr()).toMatch(/^netmesh-playground: --scenario outage .*use --adapter redis or jetstream/);
    expect(c.stdout()).toBe("");
  });

  it("prints the summary as JSON with --json", async () => {
    const c = capture();
    expect(
      await main(["--sessions", "5", "--events", "3000", "--quiet", "--json", "--shards", "2"], c.io),
    ).toBe(EXIT_OK);
    const summary = JSON.parse(c.stdout());
    expect(summary).toMatchObject({
      ok: true,
      config: { sessions: 5, events: 3000, shards: 2, backpressure: "block" },
    });
    expect(summary.bus.droppedBy).toEqual({
      evicted: 0,
      adapterRejected: 0,
      adapterShutdown: 0,
      retriesExhausted: 0,
      timedOut: 0,
      shutdownDeadline: 0,
      producerState: 0,
      tooLarge: 0,
      invalidText: 0,
      refused: 0,
    });
    expect(summary.config).toMatchObject({ adapter: "memory", scenario: "steady" });
    expect(summary.verdict).toBe(
      `OK: every accepted event came back (${summary.bus.dispatched.toLocaleString("en-US")} events)`,
    );
    expect(Number.isInteger(summary.timings.totalMs)).toBe(true);
  });
});
