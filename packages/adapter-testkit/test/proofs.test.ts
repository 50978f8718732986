/**
 * Proof that the suite can fail: each deliberately broken adapter must fail the cases that check the
 * rule it breaks, while the healthy MemoryAdapter passes the very same cases.
 */
import type { Adapter } from "@netmesh/core/adapter";
import { MemoryAdapter } from "@netmesh/core";
import { describe, expect, it } from "vitest";
import { casesById } from "./cases-by-id.js";
import {
  Delegating,
  DropsOneEvent,
  HasMoreWhenFull,
  IgnoresShutdown,
  InclusiveCursor,
  KeepsReferences,
  NoDedup,
  Reordering,
  Reserializes,
  ReadsForeignIds,
  RetryableAfterShutdown,
  UnclassifiedErrors,
  WrongEntryIdForm,
  sharedLogs,
  sharedStores,
} from "./broken-adapters.js";

interface Proof {
  /** The bug, as it reads in "the suite fails an adapter that …". */
  readonly bug: string;
  readonly make?: (inner: MemoryAdapter) => Adapter;
  /** Builds the adapter per namespace; default: `make` over a shared MemoryStore per namespace. */
  readonly create?: () => (namespace: string) => Adapter;
  /** Cases that must fail, with the message they must fail with. */
  readonly mustFail: Readonly<Record<string, RegExp>>;
}

const proofs: readonly Proof[] = [
  {
    bug: "reorders the events of a batch",
    make: (inner) => new Reordering("reordering", inner),
    mustFail: {
      "write.round-trip": /differs from the text written/,
      "write.fifo": /differs from the text written/,
      "bus.round-trip": /came before event/,
    },
  },
  {
    bug: "treats the cursor as inclusive",
    make: (inner) => new InclusiveCursor("inclusive-cursor", inner),
    mustFail: {
      "cursor.exclusive": /after event 0: ids/,
      "cursor.limit-one": /page 2 with limit 1: ids/,
      "cursor.paging": /returned twice: the cursor is not exclusive/,
      "bus.round-trip": /returned twice: the cursor is not exclusive/,
    },
  },
  {
    bug: "drops an event",
    make: (inner) => new DropsOneEvent("drops-one", inner),
    mustFail: {
      "write.round-trip": /19 events read back, 20 written; first difference at event 1/,
      "bus.round-trip": /events read back|differs|came before/,
    },
  },
  {
    bug: "ignores shutdown",
    make: (inner) => new IgnoresShutdown("ignores-shutdown", inner),
    mustFail: {
      "lifecycle.shutdown": /isHealthy\(\) after shutdown\(\) \(twice\)/,
      "lifecycle.shutdown-before-init":
        /onBatch after shutdown\(\) without init\(\): rejected with kind "fatal"/,
    },
  },
  {
    bug: "stores a retried batch twice while declaring dedup",
    create: () => {
      const logs = sharedLogs();
      return (namespace) =>
        new NoDedup(logs(namespace), false, { dedup: "write", dedupWindowMs: Number.POSITIVE_INFINITY });
    },
    mustFail: {
      "dedup.retry": /events read back, 15 written/,
      "dedup.across-instances": /events read back, 3 written/,
    },
  },
  {
    bug: "keeps references to the batch's arrays instead of copying",
    make: (inner) => new KeepsReferences("keeps-references", inner),
    mustFail: { "write.copies-batch": /differs from the text written/ },
  },
  {
    bug: "re-serializes events",
    make: (inner) => new Reserializes("reserializes", inner),
    mustFail: { "content.unicode": /differs from the text written/ },
  },
  {
    bug: "reports hasMore whenever a page is full",
    make: (inner) => new HasMoreWhenFull("has-more-when-full", inner),
    mustFail: {
      "cursor.limit-boundary": /limit = count: hasMore/,
      "cursor.limit-one": /page 30 with limit 1: hasMore/,
    },
  },
  {
    bug: "claims an entry-id form its own ids do not have",
    make: (inner) => new WrongEntryIdForm("wrong-entry-id-form", inner),
    mustFail: { "cursor.entry-id-form": /isEntryId\(1\) of a stored event/ },
  },
  {
    bug: "reads after an id its isEntryId refuses instead of refusing it",
    make: (inner) => new ReadsForeignIds("reads-foreign-ids", inner),
    mustFail: { "cursor.entry-id-form": /pollShard after #not-an-id#, which isEntryId refuses: resolved/ },
  },
  {
    bug: "rejects with a retryable error after shutdown",
    make: (inner) => new RetryableAfterShutdown("retryable-after-shutdown", inner),
    mustFail: { "lifecycle.shutdown": /kind "transient".*expected "shutdown"|isHealthy/ },
  },
  {
    bug: "rejects a bad limit with an unclassified error",
    make: (inner) => new UnclassifiedErrors("unclassified", inner),
    mustFail: { "errors.invalid-limit": /not an AdapterError/ },
  },
  {
    bug: "declares persistence but keeps data per instance",
    make: () => new MemoryAdapter(),
    mustFail: {
      "persistence.second-instance": /0 events read back, 3 written/,
      "dedup.across-instances":
        /first batch, seen by a second instance, shard 0: 0 events read back, 2 written/,
      "bus.round-trip": /of 2\d\d events read back|0 of/,
    },
  },
];

describe.each(proofs)("the suite fails an adapter that $bug", (proof) => {
  const memory = sharedStores();
  const create = proof.create?.() ?? ((namespace: string) => proof.make!(memory(namespace)));
  const broken = casesById(create);
  const healthy = casesById(sharedStores());
  for (const [id, message] of Object.entries(proof.mustFail)) {
    it(`${id} fails, and passes against MemoryAdapter`, async () => {
      const brokenCase = broken.get(id);
      expect(brokenCase, `case ${id} exists`).toBeDefined();
      await expect(brokenCase!.run()).rejects.toThrow(message);
      await expect(healthy.get(id)!.run()).resolves.toEqual({});
    }, 120_000); // two runs of a case, a bus round trip among them, on a machine that may be busy
  }
});

describe("conformanceCases", () => {
  it("runs every case programmatically against MemoryAdapter, and all but the fault cases apply and pass", async () => {
    const cases = [...casesById(sharedStores()).values()];
    expect(cases.length).toBeGreaterThanOrEqual(40);
    for (const c of cases) {
      const outcome = await c.run();
      if (c.id.startsWith("faults.") || c.id === "capabilities.size-boundary")
        expect(outcome.skipped, c.id).toBeDefined();
      else expect(outcome, c.id).toEqual({});
    }
  }, 180_000);

  it("passes an adapter without dedup that declares dedup none, in full", async () => {
    const logs = sharedLogs();
    const cases = casesById((namespace) => new NoDedup(logs(namespace)));
    for (const c of cases.values()) await c.run();
    await expect(cases.get("dedup.across-instances")!.run()).resolves.toEqual({
      skipped: "needs dedup and persistent capabilities",
    });
  }, 180_000);

  it("with ordering: none, accepts reordering within a shard but still catches a lost event", async () => {
    const logs = sharedLogs();
    const declared = casesById((namespace) => new NoDedup(logs(namespace), true));
    await expect(declared.get("write.fifo")!.run()).resolves.toEqual({});
    await expect(declared.get("bus.round-trip")!.run()).resolves.toEqual({});
    const undeclared = casesById((namespace) => new NoDedup(logs(namespace), true, { ordering: "shard" }));
    await expect(undeclared.get("write.fifo")!.run()).rejects.toThrow(/differs from the text written/);
    const memory = sharedStores();
    const dropping = casesById(
      (namespace) => new DropsOneEvent("drops-one", memory(namespace), { ordering: "none" }),
    );
    await expect(dropping.get("write.round-trip")!.run()).rejects.toThrow(
      /differs from the text written|not read back/,
    );
  }, 180_000);

  it("reports a case that does not apply as skipped, with the reason, never as a pass", async () => {
    const cases = casesById(() => new Delegating("volatile", new MemoryAdapter(), { persistent: false }));
    await expect(cases.get("persistence.second-instance")!.run()).resolves.toEqual({
      skipped: "needs capabilities.persistent",
    });
  });

  it("gives every case a unique id of the form group.name", () => {
    const ids = [...casesById(sharedStores()).keys()];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+\.[a-z-]+$/);
  });

  it("fails every case of an adapter whose capabilities contradict themselves", async () => {
    const cases = casesById(() => new Delegating("contradiction", new MemoryAdapter(), { readable: false }));
    await expect(cases.get("write.round-trip")!.run()).rejects.toThrow(
      /capabilities\.persistent cannot be true when readable is false/,
    );
  });

  it("fails an adapter whose capabilities are missing a field, naming it with its value and type", async () => {
    const cases = casesById(
      () => new Delegating("missing", new MemoryAdapter(), { dedupWindowMs: "forever" as never }),
    );
    await expect(cases.get("lifecycle.shape")!.run()).rejects.toThrow(
      /capabilities\.dedupWindowMs must be a number ≥ 0 \(Infinity allowed\), got "forever" \(string\)/,
    );
  });
});
