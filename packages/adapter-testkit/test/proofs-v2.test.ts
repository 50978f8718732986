/**
 * Proof that each contract-v2 case can fail: a deliberately broken adapter per rule, caught by the
 * case that checks that rule, while MemoryAdapter (or the same adapter without the bug) passes.
 */
import type { Adapter } from "@netmesh/core/adapter";
import { describe, expect, it } from "vitest";
import { Delegating, NoDedup, sharedLogs, sharedStores } from "./broken-adapters.js";
import {
  DriftingCapabilities,
  FaultSwitch,
  IgnoresAbortedSignal,
  LateVisibility,
  LaxCursors,
  ListsExtraShard,
  NoShardRange,
  OversizeFailsBatch,
  RefusesAtLimit,
  SimulatedFaults,
  SlowIgnoringSignal,
  StreamNeverEnds,
  StreamSkips,
  SurrogateFailsBatch,
} from "./broken-adapters-v2.js";
import { casesById } from "./cases-by-id.js";

/** The fault switch of the lost-reply proof: its adapters and its hooks must be the same switch. */
const lostReplyFaults = new FaultSwitch();

interface Proof {
  readonly bug: string;
  readonly create: () => (namespace: string) => Adapter;
  readonly mustFail: Readonly<Record<string, RegExp>>;
}

const over = (wrap: (inner: Adapter) => Adapter) => () => {
  const memory = sharedStores();
  return (namespace: string) => wrap(memory(namespace));
};

const proofs: readonly Proof[] = [
  {
    bug: "makes ids visible out of id order (the BIGSERIAL trap)",
    create: () => {
      const tables = new Map<string, ConstructorParameters<typeof LateVisibility>[0]>();
      return (namespace) => {
        const table = tables.get(namespace) ?? { rows: new Map(), next: new Map() };
        tables.set(namespace, table);
        return new LateVisibility(table);
      };
    },
    mustFail: { "visibility.concurrent-writers": /missed \d+ of 1200 events .*rule 11/ },
  },
  {
    bug: "stores a batch whose signal was already aborted",
    create: over((inner) => new IgnoresAbortedSignal("ignores-aborted", inner)),
    mustFail: { "abort.already-aborted": /onBatch with an aborted signal: resolved/ },
  },
  {
    bug: "ignores its signal during a slow write",
    create: over((inner) => new SlowIgnoringSignal("slow", inner)),
    mustFail: { "abort.mid-call": /did not settle within 1000 ms/ },
  },
  {
    bug: "parses malformed cursors leniently",
    create: over((inner) => new LaxCursors("lax-cursors", inner)),
    mustFail: { "errors.malformed-cursors": /pollShard\(0, "", 10\): resolved/ },
  },
  {
    bug: "reads shards outside [0, 65534]",
    create: over((inner) => new NoShardRange("no-shard-range", inner)),
    mustFail: { "errors.shard-range": /pollShard\(-1, undefined, 10\): resolved/ },
  },
  {
    bug: "fails the whole batch for one oversize event",
    create: over((inner) => new OversizeFailsBatch("oversize-fails-batch", inner)),
    mustFail: { "capabilities.size-boundary": /payload too large/ },
  },
  {
    bug: "refuses an event of exactly maxEventBytes",
    create: over((inner) => new RefusesAtLimit("refuses-at-limit", inner)),
    mustFail: { "capabilities.size-boundary": /would need a per-event store/ },
  },
  {
    bug: "fails the whole batch for a lone surrogate",
    create: over((inner) => new SurrogateFailsBatch("surrogate-fails-batch", inner)),
    mustFail: { "rejection.lone-surrogate": /invalid UTF-16/ },
  },
  {
    bug: "changes its capabilities after init",
    create: over((inner) => new DriftingCapabilities("drifting", inner)),
    mustFail: {
      "capabilities.declared": /changed its capabilities after init: field capabilities\.maxEventBytes/,
    },
  },
  {
    bug: "keeps a streaming read open after its signal aborted",
    create: over((inner) => new StreamNeverEnds("stream-never-ends", inner)),
    mustFail: { "streaming.abort": /did not end within 2000 ms after its signal aborted/ },
  },
  {
    bug: "loses an event when a streaming read resumes",
    create: over((inner) => new StreamSkips("stream-skips", inner)),
    mustFail: { "streaming.follow": /readShard\(4\) followed for 5000 ms and collected only [0-5] events/ },
  },
  {
    bug: "lists a shard nobody wrote",
    create: over((inner) => new ListsExtraShard("lists-extra", inner)),
    mustFail: { "shards.list": /expected \[0,3,9,300\].*got \[0,3,9,300,65534\]/ },
  },
  {
    bug: "declares dedup without it, under a lost reply",
    create: () => {
      const logs = sharedLogs();
      const faults = lostReplyFaults;
      return (namespace) =>
        new SimulatedFaults(
          "no-dedup-faults",
          new NoDedup(logs(namespace), false, { dedup: "write", dedupWindowMs: Number.POSITIVE_INFINITY }),
          faults,
        );
    },
    mustFail: { "faults.lost-reply": /events read back, 150 written/ },
  },
];

describe.each(proofs)("the suite fails an adapter that $bug", (proof) => {
  const faults = new FaultSwitch();
  const broken = casesById(proof.create(), lostReplyFaults.hooks);
  const memory = sharedStores();
  const healthy = casesById(
    (namespace) => new SimulatedFaults("healthy", memory(namespace), faults),
    faults.hooks,
  );
  for (const [id, message] of Object.entries(proof.mustFail)) {
    it(`${id} fails, and passes against MemoryAdapter`, async () => {
      await expect(broken.get(id)!.run()).rejects.toThrow(message);
      await expect(healthy.get(id)!.run()).resolves.toEqual(
        id === "capabilities.size-boundary" ? { skipped: expect.any(String) } : {},
      );
    }, 20_000);
  }
});

describe("fault cases against a healthy adapter", () => {
  it("pass with dedup, and pass without dedup when it is not declared", async () => {
    const faults = new FaultSwitch();
    const memory = sharedStores();
    const withDedup = casesById(
      (namespace) => new SimulatedFaults("dedup", memory(namespace), faults),
      faults.hooks,
    );
    await expect(withDedup.get("faults.lost-reply")!.run()).resolves.toEqual({});
    await expect(withDedup.get("faults.restart")!.run()).resolves.toEqual({});
    const logs = sharedLogs();
    const honest = casesById(
      (namespace) => new SimulatedFaults("honest", new NoDedup(logs(namespace)), faults),
      faults.hooks,
    );
    await expect(honest.get("faults.lost-reply")!.run()).resolves.toEqual({});
  }, 60_000);

  it("size boundary passes for an adapter that refuses one byte more alone", async () => {
    const limit = 20_000;
    const memory = sharedStores();
    const cases = casesById(
      (namespace) => new Delegating("limited", memory(namespace), { maxEventBytes: limit }),
    );
    // The MemoryAdapter stores anything; declaring a limit it does not enforce must fail the boundary case.
    await expect(cases.get("capabilities.size-boundary")!.run()).rejects.toThrow(
      /must be refused alone with reason "tooLarge"/,
    );
  });
});
