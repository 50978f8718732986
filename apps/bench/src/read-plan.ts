/**
 * What the read benchmark runs on a backend: the workload (the N events pre-serialized, and as the
 * values they serialize from), what a round's paths work on, and the list of read paths: the bus's
 * poll and subscribe loops, each parsing and unparsed, then the backend's hand-written readers.
 */
import type { Adapter, EventBus, RawEvent } from "@netmesh/core";
import type { Backend } from "./read-backends.js";
import type { BaselineTarget } from "./read-baselines.js";
import { PAGE, type Take, pollAll, subscribeAll } from "./read-paths.js";
import type { PathKind, PathResult } from "./read-report.js";
import { type Tally, valuesOf } from "./read-workload.js";

/** The N events as each writer hands them to the bus. */
export interface Workload {
  readonly raws: readonly RawEvent[];
  readonly values: readonly unknown[];
  readonly keyOf: (value: unknown) => string;
}

/** The workload of the run: the N events pre-serialized, and as values that serialize to the same texts. */
export function workloadOf(raws: readonly RawEvent[]): Workload {
  const { values, keyOf } = valuesOf(raws);
  // Like for like: the values writer must store exactly the texts the raw writer stores.
  values.forEach((value, n) => {
    if (JSON.stringify(value) !== raws[n]!.json)
      throw new Error(`event ${n} does not serialize back to its text`);
  });
  return { raws, values, keyOf };
}

/** What the paths of one round work on: a fresh bus that wrote the N events under a fresh prefix. */
export interface Round {
  readonly bus: EventBus;
  readonly adapter: Adapter;
  readonly prefix: string;
  readonly shards: readonly number[];
}

/** A read path: its result slot and what it runs (reading into the Tally, until the deadline). */
export interface ReadPath {
  readonly result: PathResult;
  run(round: Round, tally: Tally, deadline: number): Promise<void>;
}

/** A result slot for a path, not run yet. */
export const pathResult = (label: string, kind: PathKind): PathResult => ({
  label,
  kind,
  best: undefined,
  failed: undefined,
});

/** The bus's read paths taking each event one way: JSON-parsed, or as its text. */
function busPaths(take: Take): ReadPath[] {
  const parse = take === "parse";
  const suffix = parse ? "" : ", JSON text unparsed";
  return [
    {
      result: pathResult(`bus.poll({ limit: ${PAGE} }) loop${suffix}`, parse ? "poll" : "poll-text"),
      run: (round, tally, deadline) => pollAll(round.bus, tally, deadline, take),
    },
    {
      result: pathResult(
        `bus.subscribe({ pageSize: ${PAGE} })${suffix}`,
        parse ? "subscribe" : "subscribe-text",
      ),
      run: (round, tally, deadline) => subscribeAll(round.bus, tally, deadline, take),
    },
  ];
}

/** The read paths of a backend: poll and subscribe (parsing, then unparsed), then its hand-written readers. */
export function readPaths(backend: Backend): ReadPath[] {
  return [
    ...busPaths("parse"),
    ...busPaths("text"),
    ...backend.baselines.map((baseline) => ({
      result: pathResult(baseline.label, baseline.raw ? "baseline" : "info"),
      run: async (round: Round, tally: Tally, deadline: number) => {
        const target: BaselineTarget = { ...round, tally, deadline };
        const open = await baseline.open(target);
        try {
          await open.run();
        } finally {
          await open.close();
        }
      },
    })),
  ];
}
