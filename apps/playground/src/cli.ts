import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { BackpressureOption } from "@netmesh/core";
import { type ProgressOutput, ProgressLine, silentProgress } from "./progress.js";
import { formatSummary, formatSummaryJson } from "./report.js";
import { ADAPTER_NAMES, type AdapterName, type AdapterOptionValue } from "./backends/backend.js";
import { PlaygroundUsageError, type PlaygroundOptions, runPlayground } from "./run.js";
import { SCENARIO_NAMES, type ScenarioName } from "./scenario.js";
import { MIN_EVENTS_PER_SESSION } from "./workload.js";

/** Exit code when every accepted event came back (also for `--help`). */
export const EXIT_OK = 0;
/** Exit code when verification failed, the bus shut down with errors, or the run crashed. */
export const EXIT_FAIL = 1;
/** Exit code for a bad command line, as most CLIs use. */
export const EXIT_USAGE = 2;

/** The defaults: about 1.2 million events, a few seconds on a two-core machine. */
export const DEFAULTS = Object.freeze({
  sessions: 2_000,
  events: 1_200_000,
  shards: 4,
  seed: 42,
  backpressure: "block" as BackpressureOption,
});

const LIMITS = {
  sessions: [1, 1_000_000],
  events: [1, 50_000_000],
  shards: [1, 1_024],
  seed: [0, 0xffff_ffff],
  members: [1, 64],
  rate: [1, 100_000_000],
  port: [0, 65_535],
  "dashboard-linger": [0, 86_400],
} as const;

/** Rate of the sample mode when `--backpressure sample` gives none. */
const DEFAULT_SAMPLE_RATE = 8;

/** The `--help` text. */
export const USAGE = `Usage: netmesh-playground [options]

Runs an @netmesh/core event bus on an adapter (the embedded memory one by default), drives it
with a simulated AI workload (LLM conversations and agent runs: streamed tokens, tool calls,
guardrail verdicts, agent messages, usage totals, plus unkeyed metrics heartbeats), reads every
event back from the backend and verifies that each accepted event came back exactly once and in
order. Whatever it stored in a backend (keys, streams) it deletes at the end.

Backend:
  --adapter <name>     memory, noop, redis, jetstream or kinesis (default memory)
  --url <url>          where the backend is (redis: REDIS_URL or redis://127.0.0.1:6379; jetstream:
                       NATS_URL or nats://127.0.0.1:4222; kinesis: an endpoint, default a kinesalite
                       the playground starts on a free loopback port)
  --replica            redis only: run on a master and a replica of the playground's own (free
                       loopback ports) and show the replication lag (@netmesh/replication-metrics)
  --adapter-option k=v an option for the adapter's constructor, repeatable (numbers and true/false
                       are parsed): --adapter-option commandTimeoutMs=2000

Scenario:
  --scenario <name>    steady: chat and agent traffic (default)
                       burst: waves that fill small rings (backpressure) and make dynamic scaling
                         add shards, then drain them
                       outage: redis or jetstream on a server of the playground's own, killed after
                         a third of the events and restarted 2 s later: retries, nothing lost
                       group: a consumer group of --members readers splits the shards while the
                         run produces; every event must reach the group exactly once (memory, redis)
  --members <n>        consumer-group members (default 3)
  --rate <n>           at most n events per second on average (default: as fast as it goes)

Dashboard:
  --dashboard          serve a live dashboard on 127.0.0.1 (the address is printed); it stays up
                       after the run until Ctrl-C (or --dashboard-linger)
  --port <n>           its port (default: a free one)
  --dashboard-linger <s>  stop the dashboard s seconds after the run ended

Workload:
  --sessions <n>       sessions: conversations and agent runs (default ${DEFAULTS.sessions})
  --events <n>         approximate total events; 20k, 1.5m, 2_000_000 also work (default ${DEFAULTS.events})
  --shards <n>         bus shards (default ${DEFAULTS.shards})
  --seed <n>           PRNG seed, 0 to 2^32-1: the same seed gives the same events (default ${DEFAULTS.seed})
  --backpressure <m>   block, drop-oldest, drop-newest, fail-producer or sample[:rate] (default block)

Output:
  -q, --quiet          no progress line on stderr
  --json               print the summary as JSON
  -h, --help           show this help

Exit status: 0 when every accepted event came back, 1 when not, 2 for a bad command line.
`;

/** The outcome of parsing a command line. */
export type ParsedCommand =
  | { readonly kind: "run"; readonly options: CliOptions }
  | { readonly kind: "help" }
  | { readonly kind: "error"; readonly message: string };

/** Validated command-line options. */
export interface CliOptions {
  readonly sessions: number;
  readonly events: number;
  readonly shards: number;
  readonly seed: number;
  readonly backpressure: BackpressureOption;
  readonly quiet: boolean;
  readonly json: boolean;
  readonly adapter: AdapterName;
  readonly url: string | undefined;
  readonly adapterOptions: Readonly<Record<string, AdapterOptionValue>>;
  readonly replica: boolean;
  readonly scenario: ScenarioName;
  readonly members: number;
  readonly rate: number | undefined;
  readonly dashboard: boolean;
  readonly port: number | undefined;
  /** Seconds the dashboard stays up after the run; `undefined`: until told to stop. */
  readonly linger: number | undefined;
}

class UsageError extends Error {}

/** `"20000"`, `"20_000"`, `"20k"`, `"1.5m"` → a whole number; `name` and the range make the error clear. */
function integerFlag(name: keyof typeof LIMITS, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const [min, max] = LIMITS[name];
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.replaceAll("_", ""));
  const scale = match?.[2]?.toLowerCase() === "k" ? 1e3 : match?.[2]?.toLowerCase() === "m" ? 1e6 : 1;
  const value = match === null ? Number.NaN : Number(match[1]) * scale;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function choiceFlag<T extends string>(
  name: string,
  choices: readonly T[],
  text: string | undefined,
  fallback: T,
): T {
  if (text === undefined) return fallback;
  if ((choices as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`--${name} must be ${choices.join(", ")}, got ${JSON.stringify(text)}`);
}

/** `--adapter-option key=value` (repeated) → an options object; numbers and booleans parsed. */
function adapterOptionsFlag(texts: readonly string[] | undefined): Record<string, AdapterOptionValue> {
  const options: Record<string, AdapterOptionValue> = {};
  for (const text of texts ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(text);
    if (match === null) {
      throw new UsageError(
        `--adapter-option must be key=value with a plain option name, got ${JSON.stringify(text)}`,
      );
    }
    const [, key, value] = match as unknown as [string, string, string];
    if (key === "url" || key === "prefix" || key === "streamName" || key === "endpoint") {
      throw new UsageError(`--adapter-option ${key} is set by the playground (use --url for the address)`);
    }
    options[key] =
      value === "true"
        ? true
        : value === "false"
          ? false
          : /^-?\d+(\.\d+)?$/.test(value)
            ? Number(value)
            : value;
  }
  return options;
}

function backpressureFlag(text: string | undefined): BackpressureOption {
  if (text === undefined) return DEFAULTS.backpressure;
  if (text === "block" || text === "drop-oldest" || text === "drop-newest" || text === "fail-producer")
    return text;
  const sample = /^sample(?::(\d+))?$/.exec(text);
  if (sample !== null) {
    const rate = sample[1] === undefined ? DEFAULT_SAMPLE_RATE : Number(sample[1]);
    if (rate >= 1 && rate <= 1_000_000) return { mode: "sample", rate };
  }
  throw new UsageError(
    `--backpressure must be block, drop-oldest, drop-newest, fail-producer or sample[:rate] (rate 1 to 1000000), ` +
      `got ${JSON.stringify(text)}`,
  );
}

/** Parses and validates a command line (without the `node script` prefix). Never throws. */
export function parseCliArgs(argv: readonly string[]): ParsedCommand {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        sessions: { type: "string" },
        events: { type: "string" },
        shards: { type: "string" },
        seed: { type: "string" },
        backpressure: { type: "string" },
        adapter: { type: "string" },
        url: { type: "string" },
        "adapter-option": { type: "string", multiple: true },
        replica: { type: "boolean" },
        scenario: { type: "string" },
        members: { type: "string" },
        rate: { type: "string" },
        dashboard: { type: "boolean" },
        port: { type: "string" },
        "dashboard-linger": { type: "string" },
        quiet: { type: "boolean", short: "q" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) return { kind: "help" };
    const sessions = integerFlag("sessions", values.sessions, DEFAULTS.sessions);
    const events = integerFlag("events", values.events, DEFAULTS.events);
    if (events < sessions * MIN_EVENTS_PER_SESSION) {
      throw new UsageError(
        `--events (${events}) must be at least ${MIN_EVENTS_PER_SESSION} per session ` +
          `(${sessions * MIN_EVENTS_PER_SESSION} for ${sessions} sessions)`,
      );
    }
    const options: CliOptions = {
      sessions,
      events,
      shards: integerFlag("shards", values.shards, DEFAULTS.shards),
      seed: integerFlag("seed", values.seed, DEFAULTS.seed),
      backpressure: backpressureFlag(values.backpressure),
      quiet: values.quiet ?? false,
      json: values.json ?? false,
      adapter: choiceFlag("adapter", ADAPTER_NAMES, values.adapter, "memory"),
      url: values.url,
      adapterOptions: adapterOptionsFlag(values["adapter-option"]),
      replica: values.replica ?? false,
      scenario: choiceFlag("scenario", SCENARIO_NAMES, values.scenario, "steady"),
      members: integerFlag("members", values.members, 3),
      rate: values.rate === undefined ? undefined : integerFlag("rate", values.rate, 0),
      dashboard: values.dashboard ?? false,
      port: values.port === undefined ? undefined : integerFlag("port", values.port, 0),
      linger:
        values["dashboard-linger"] === undefined
          ? undefined
          : integerFlag("dashboard-linger", values["dashboard-linger"], 0),
    };
    if (options.url !== undefined && (options.adapter === "memory" || options.adapter === "noop")) {
      throw new UsageError(`--url has no meaning for --adapter ${options.adapter}`);
    }
    if (!options.dashboard && (options.port !== undefined || options.linger !== undefined)) {
      throw new UsageError(`--port and --dashboard-linger need --dashboard`);
    }
    return { kind: "run", options };
  } catch (error) {
    // parseArgs reports unknown options, missing values and stray arguments as TypeErrors.
    if (error instanceof UsageError || error instanceof TypeError)
      return { kind: "error", message: error.message };
    throw error;
  }
}

/** Where {@link main} writes: the process's streams, or fakes in tests. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressOutput;
  /** Stops production early (Ctrl-C); the run still flushes, verifies and reports. */
  readonly signal?: AbortSignal;
  /** Stops the dashboard after the run (Ctrl-C once the report is out). */
  readonly dismiss?: AbortSignal;
  /** Called with the dashboard's address once it listens. */
  readonly onDashboard?: (url: string) => void;
}

/** Resolves when `signal` aborts or `seconds` have passed (never, for `undefined`, without a signal). */
function lingering(signal: AbortSignal | undefined, seconds: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener("abort", () => resolve(), { once: true });
    if (seconds !== undefined) setTimeout(resolve, seconds * 1000);
  });
}

function describeRun(options: CliOptions): string {
  return `${options.scenario} on ${options.adapter}, ${options.shards} shards, ~${options.events} events`;
}

/** Runs the CLI and resolves its exit code. The summary goes to stdout, progress and errors to stderr. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const command = parseCliArgs(argv);
  if (command.kind === "help") {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (command.kind === "error") {
    io.stderr.write(`netmesh-playground: ${command.message}\nTry --help.\n`);
    return EXIT_USAGE;
  }
  const { quiet, json, dashboard: wanted, port, linger, ...workload } = command.options;
  const dashboard = wanted
    ? await (await import("./dashboard/server.js")).startDashboard({
        title: describeRun(command.options),
        ...(port === undefined ? {} : { port }),
      })
    : undefined;
  try {
    if (dashboard !== undefined) {
      io.stderr.write(`dashboard: ${dashboard.url}\n`);
      io.onDashboard?.(dashboard.url);
    }
    const options: PlaygroundOptions = {
      ...workload,
      progress: quiet ? silentProgress : new ProgressLine(io.stderr),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      ...(dashboard === undefined ? {} : { liveTail: true, observe: (run) => dashboard.attach(run) }),
    };
    let summary: Awaited<ReturnType<typeof runPlayground>>;
    try {
      summary = await runPlayground(options);
    } catch (error) {
      if (!(error instanceof PlaygroundUsageError)) {
        dashboard?.fail(error instanceof Error ? error.message : String(error));
        throw error;
      }
      io.stderr.write(`netmesh-playground: ${error.message}\nTry --help.\n`);
      return EXIT_USAGE;
    }
    io.stdout.write(json ? formatSummaryJson(summary) : formatSummary(summary));
    if (dashboard !== undefined) {
      dashboard.finish(summary);
      io.stderr.write(
        `dashboard: the final state stays at ${dashboard.url} ` +
          (linger === undefined ? "until Ctrl-C\n" : `for ${linger} s (Ctrl-C stops it sooner)\n`),
      );
      await lingering(io.dismiss, linger);
    }
    return summary.ok ? EXIT_OK : EXIT_FAIL;
  } finally {
    await dashboard?.close();
  }
}

/** True when this module is the program being run (not imported by a test). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const production = new AbortController();
  const dashboard = new AbortController();
  let reported = false;
  // Ctrl-C during the run: stop producing and still verify what was accepted. Once the report is out
  // (a dashboard lingering): stop the dashboard. SIGTERM: both at once.
  const onInterrupt = () => {
    if (!reported && !production.signal.aborted) {
      process.stderr.write("\nstopping: flushing and verifying what was accepted (Ctrl-C again to abort)\n");
      production.abort();
      return;
    }
    if (reported && !dashboard.signal.aborted) {
      dashboard.abort();
      return;
    }
    process.exit(130);
  };
  process.on("SIGINT", onInterrupt);
  process.once("SIGTERM", () => {
    production.abort();
    dashboard.abort();
  });
  main(process.argv.slice(2), {
    stdout: {
      write: (text: string) => {
        reported = true;
        return process.stdout.write(text);
      },
    },
    stderr: process.stderr,
    signal: production.signal,
    dismiss: dashboard.signal,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `netmesh-playground: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = EXIT_FAIL;
    },
  );
}
