import { expect } from "vitest";
import type { PlaygroundSummary } from "../../src/run.js";

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** The invariants every summary must satisfy, whatever the adapter, scenario or mode. */
export function expectConsistent(s: PlaygroundSummary): void {
  const b = s.bus;
  expect(b.ingested + b.rejected + s.unoffered).toBe(s.produced);
  expect(b.dispatched + b.dropped).toBe(b.ingested);
  expect(b.dropped).toBe(sum(Object.values(b.droppedBy)));
  expect(b.uncertain).toBe(sum(Object.values(b.uncertainBy)));
  expect(b.rejected).toBe(sum(Object.values(b.rejectedBy)));
  expect(sum(s.shards.map((shard) => shard.readBack))).toBe(
    s.verification.mode === "counts" ? 0 : s.verification.readBack,
  );
  expect(sum(Object.values(s.paths).map((p) => p.events))).toBe(s.produced);
  expect(b.meanBatchSize).toBeCloseTo(b.batches === 0 ? 0 : b.dispatched / b.batches);
  expect(s.sessions.started.chat + s.sessions.started.agent).toBe(s.config.sessions);
  // Every stored batch was seen on the diagnostics channel (the tap is attached right after createBus).
  expect(s.diagnostics.batches).toBe(b.batches);
  const t = s.topology;
  expect(t.initial + t.added - t.removed).toBe(t.active + t.draining);
  expect(s.diagnostics.backpressure.released).toBeLessThanOrEqual(s.diagnostics.backpressure.engaged);
}

/** A lossless run: everything accepted came back, nothing dropped or refused. */
export function expectLossless(s: PlaygroundSummary): void {
  expect(s.verification.issues, s.verification.examples.join("\n")).toEqual({});
  expect(s.ok).toBe(true);
  expect(s.bus.dropped).toBe(0);
  expect(s.bus.rejected).toBe(0);
  expect(s.verification.readBack).toBe(s.produced);
  expect(s.verification.expected).toBe(s.produced);
  expect(s.shutdown.errors).toEqual([]);
}
