import type { Adapter } from "@netmesh/core/adapter";
import { type ConformanceCase, type ConformanceOptions, conformanceCases } from "../src/index.js";

/** The suite's cases for an adapter factory (and optional fault hooks), by id. */
export function casesById(
  make: (namespace: string) => Adapter,
  faults?: ConformanceOptions["faults"],
): Map<string, ConformanceCase> {
  const cases = conformanceCases({
    name: "proof",
    create: ({ namespace }) => make(namespace),
    ...(faults === undefined ? {} : { faults }),
  });
  return new Map(cases.map((c) => [c.id, c]));
}
