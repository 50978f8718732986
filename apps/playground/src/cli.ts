import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { BackpressureOption } from "@netmesh/core";
import { type ProgressOutput, ProgressLine, silentProgress } from "./progress.js";
import { formatSummary, formatSummaryJson } from "./report.js";
import { type PlaygroundOptions, runPlayground } from "./run.js";
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
} as const;

/** Rate of the sample mode when `--backpressure sample` gives none. */
const DEFAULT_SAMPLE_RATE = 8;

/** The `--help` text. */
export const USAGE = `Usage: netmesh-playground [options]

Runs an @netmesh/core event bus on its embedded memory adapter, drives it with a simulated AI
workload (LLM conversations and agent runs: streamed tokens, tool calls, guardrail verdicts,
agent messages, usage totals, plus unkeyed metrics heartbeats), reads every event back through
the adapter and verifies that each accepted event came back exactly once and in order.

Options:
  --sessions <n>       sessions: conversations and agent runs (default ${DEFAULTS.sessions})
  --events <n>         approximate total events; 20k, 1.5m, 2_000_000 also work (default ${DEFAULTS.events})
  --shards <n>         bus shards (default ${DEFAULTS.shards})
  --seed <n>           PRNG seed, 0 to 2^32-1: the same seed gives the same events (default ${DEFAULTS.seed})
  --backpressure <m>   block, drop-oldest, drop-newest, fail-producer or sample[:rate] (default block)
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
    };
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
  const { quiet, json, ...workload } = command.options;
  const options: PlaygroundOptions = {
    ...workload,
    progress: quiet ? silentProgress : new ProgressLine(io.stderr),
    ...(io.signal === undefined ? {} : { signal: io.signal }),
  };
  const summary = await runPlayground(options);
  io.stdout.write(json ? formatSummaryJson(summary) : formatSummary(summary));
  return summary.ok ? EXIT_OK : EXIT_FAIL;
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
  const controller = new AbortController();
  // First Ctrl-C: stop producing and still verify what was accepted. Second: the default (exit).
  process.once("SIGINT", () => {
    process.stderr.write("\nstopping: flushing and verifying what was accepted (Ctrl-C again to abort)\n");
    controller.abort();
  });
  main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: controller.signal,
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
