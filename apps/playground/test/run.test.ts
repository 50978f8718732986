import { describe, expect, it } from "vitest";
import { type PlaygroundOptions, type PlaygroundSummary, runPlayground } from "../src/run.js";
import { expectConsistent as expectSummaryConsistent } from "./support/summary-checks.js";

const SMALL: PlaygroundOptions = { sessions: 20, events: 20_000, shards: 4, seed: 7, backpressure: "block" };
/** A ring far smaller than a chunk, so producers outrun the pumps and backpressure really happens. */
const TINY_RING = { ringCapacity: 256, batch: { minSize: 16, maxSize: 64 } } as const;

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** The shared invariants, plus the per-shard sums that hold when no shard was added or removed. */
function expectConsistent(s: PlaygroundSummary): void {
  expectSummaryConsistent(s);
  const b = s.bus;
  expect(sum(s.shards.map((shard) => shard.ingested))).toBe(b.ingested);
  expect(sum(s.shards.map((shard) => shard.dispatched))).toBe(b.dispatched);
  expect(sum(s.shards.map((shard) => shard.batches))).toBe(b.batches);
  expect(sum(Object.values(s.verification.eventTypes))).toBe(s.verification.readBack);
  expect(s.shards).toHaveLength(s.config.shards);
}

describe("runPlayground", () => {
  it("runs a small workload losslessly and reports consistent figures", async () => {
    const s = await runPlayground(SMALL);
    expect(s.ok).toBe(true);
    expect(s.verdict).toBe(
      `OK: every accepted event came back (${s.bus.dispatched.toLocaleString("en-US")} events)`,
    );
    expectConsistent(s);
    expect(s.produced).toBeGreaterThan(18_000);
    expect(s.produced).toBeLessThan(22_000);
    expect(s.bus.rejected).toBe(0);
    expect(s.bus.dropped).toBe(0);
    expect(s.verification.readBack).toBe(s.produced);
    expect(s.verification.issues).toEqual({});
    expect(s.sessions).toMatchObject({ total: 20, verified: 20 });
    expect(s.unkeyed.sent).toBeGreaterThan(0);
    expect(s.unkeyed.verified).toBe(true);
    // Every path of the API is exercised.
    expect(s.paths.ingest.calls).toBeGreaterThan(0);
    expect(s.paths.ingestMany.calls).toBeGreaterThan(0);
    expect(s.paths.ingestRaw.calls).toBeGreaterThan(0);
    for (const type of ["session_start", "token", "tool_call", "tool_result", "guardrail", "agent_message"]) {
      expect(s.verification.eventTypes[type], type).toBeGreaterThan(0);
    }
    expect(s.verification.eventTypes.session_end).toBe(20);
    expect(s.verification.eventTypes.metrics).toBe(s.unkeyed.sent);
  });

  it("is deterministic for a seed", async () => {
    const [a, b, c] = await Promise.all([
      runPlayground(SMALL),
      runPlayground(SMALL),
      runPlayground({ ...SMALL, seed: 8 }),
    ]);
    expect(b.produced).toBe(a.produced);
    expect(b.verification.eventTypes).toEqual(a.verification.eventTypes);
    expect(b.sessions.started).toEqual(a.sessions.started);
    expect(c.verification.eventTypes).not.toEqual(a.verification.eventTypes);
  });

  it("waits for room instead of failing when block backpressure meets a tiny ring", async () => {
    const s = await runPlayground({ ...SMALL, bus: TINY_RING });
    expect(s.ok).toBe(true);
    expectConsistent(s);
    expect(s.waitingChunks).toBeGreaterThan(0);
    expect(s.paths.ingestOrWait.calls + s.paths.ingestManyOrWait.calls).toBeGreaterThan(0);
    expect(s.paths.ingestRawOrWait.calls).toBeGreaterThan(0);
    expect(s.bus.rejected).toBe(0);
    expect(s.verification.readBack).toBe(s.produced);
  });

  it.each([
    ["drop-newest", "drop-newest"],
    ["fail-producer", "fail-producer"],
    ["sample", { mode: "sample", rate: 4 }],
  ] as const)("stays correct under %s: refused events are not expected back", async (_, backpressure) => {
    const s = await runPlayground({ ...SMALL, backpressure, bus: TINY_RING });
    expectConsistent(s);
    expect(s.bus.rejected).toBeGreaterThan(0);
    expect(s.bus.dropped).toBe(0);
    expect(s.ok).toBe(true);
    expect(s.verification.readBack).toBe(s.bus.ingested);
  });

  it("fails, naming the loss, when drop-oldest evicts accepted events", async () => {
    const s = await runPlayground({ ...SMALL, backpressure: "drop-oldest", bus: TINY_RING });
    expectConsistent(s);
    expect(s.bus.droppedBy.evicted).toBeGreaterThan(0);
    expect(s.ok).toBe(false);
    expect(s.verification.issues.dropped).toBe(1);
    expect(s.verification.issues.missing).toBe(s.bus.dropped);
    expect(s.verdict).toMatch(/^FAIL: .* accepted events came back/);
  });

  it("stops producing when aborted and still verifies what was accepted", async () => {
    const controller = new AbortController();
    controller.abort();
    const s = await runPlayground({ ...SMALL, signal: controller.signal });
    expect(s.interrupted).toBe(true);
    expect(s.produced).toBe(0);
    expect(s.ok).toBe(true);
  });
});
