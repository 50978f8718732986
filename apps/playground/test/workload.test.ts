import { describe, expect, it } from "vitest";
import type { PlaygroundEvent, SessionEndEvent } from "../src/events.js";
import { ACCEPTED } from "../src/ledger.js";
import { Prng } from "../src/prng.js";
import { Workload, type WorkloadOptions } from "../src/workload.js";

/** Drains a workload without a bus, recording every step as accepted; returns the events in order. */
function drain(options: WorkloadOptions): {
  workload: Workload;
  events: PlaygroundEvent[];
  kinds: Set<string>;
} {
  const workload = new Workload(options, (key) => key.length % 4);
  const events: PlaygroundEvent[] = [];
  const kinds = new Set<string>();
  for (let step = workload.next(); step !== undefined; step = workload.next()) {
    kinds.add(step.kind);
    workload.ledger.record(step.stream, step.events[0]!.seq, step.events.length, ACCEPTED);
    events.push(...step.events);
  }
  return { workload, events, kinds };
}

describe("Workload", () => {
  const options = { sessions: 30, events: 12_000, seed: 11 };

  it("is reproducible from its seed", () => {
    const a = drain(options).events.map((event) => JSON.stringify(event));
    const b = drain(options).events.map((event) => JSON.stringify(event));
    expect(b).toEqual(a);
    expect(drain({ ...options, seed: 12 }).events.map((event) => JSON.stringify(event))).not.toEqual(a);
  });

  it("comes close to the requested size and uses every step kind", () => {
    const { workload, events, kinds } = drain(options);
    expect(workload.produced).toBe(events.length);
    expect(Math.abs(events.length - options.events) / options.events).toBeLessThan(0.1);
    expect(kinds).toEqual(new Set(["single", "burst", "replay"]));
    expect(workload.done).toBe(true);
    expect(workload.next()).toBeUndefined();
  });

  it("numbers each session's events 0, 1, 2, … from session_start to session_end", () => {
    const { events } = drain(options);
    const bySession = new Map<string, PlaygroundEvent[]>();
    for (const event of events) {
      if (event.type === "metrics") continue;
      bySession.set(event.session, [...(bySession.get(event.session) ?? []), event]);
    }
    expect(bySession.size).toBe(options.sessions);
    for (const list of bySession.values()) {
      expect(list.map((event) => event.seq)).toEqual(list.map((_, i) => i));
      expect(list[0]!.type).toBe("session_start");
      expect(list.at(-1)!.type).toBe("session_end");
      expect(
        list.filter((event) => event.type === "session_start" || event.type === "session_end"),
      ).toHaveLength(2);
      // Usage totals add up: every generated fragment is a completion token, replayed ones are cached.
      const end = list.at(-1) as SessionEndEvent;
      const tokens = list.filter((event) => event.type === "token");
      expect(end.usage.completionTokens).toBe(tokens.filter((event) => !event.cached).length);
      expect(end.usage.cachedTokens).toBe(tokens.filter((event) => event.cached).length);
    }
  });

  it("numbers the unkeyed heartbeats 0, 1, 2, …", () => {
    const seqs = drain(options)
      .events.filter((event) => event.type === "metrics")
      .map((event) => event.seq);
    expect(seqs.length).toBeGreaterThan(100);
    expect(seqs).toEqual(seqs.map((_, i) => i));
  });

  it("pairs every tool call with its result", () => {
    const { events } = drain(options);
    const calls = events.filter((event) => event.type === "tool_call").map((event) => event.callId);
    const results = events.filter((event) => event.type === "tool_result").map((event) => event.callId);
    expect(calls.length).toBeGreaterThan(0);
    // Sessions interleave, so compare as sets; within a session the result follows its call.
    expect([...results].sort()).toEqual([...calls].sort());
    expect(new Set(calls).size).toBe(calls.length);
  });
});

describe("Prng", () => {
  it("repeats for a seed and stays in range", () => {
    const a = new Prng(5);
    const b = new Prng(5);
    for (let i = 0; i < 1000; i++) {
      const x = a.next();
      expect(b.next()).toBe(x);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      expect(a.int(3, 7)).toBe(b.int(3, 7));
    }
  });
});
