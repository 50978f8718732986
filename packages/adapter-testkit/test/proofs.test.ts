/**
 * Proof that the suite can fail: each deliberately broken adapter must fail the cases that check the
 * rule it breaks, while the healthy MemoryAdapter passes the very same cases.
 */
import type { Adapter } from "@netmesh/core/adapter";
import { MemoryAdapter } from "@netmesh/core";
import { describe, expect, it } from "vitest";
import { type AdapterFeatures, type ConformanceCase, conformanceCases } from "../src/index.js";
import {
  DropsOneEvent,
  HasMoreWhenFull,
  IgnoresShutdown,
  InclusiveCursor,
  KeepsReferences,
  NoDedup,
  Reordering,
  Reserializes,
  RetryableAfterShutdown,
  UnclassifiedErrors,
  sharedLogs,
  sharedStores,
} from "./broken-adapters.js";

interface Proof {
  /** The bug, as it reads in "the suite fails an adapter that …". */
  readonly bug: string;
  readonly make?: (inner: MemoryAdapter) => Adapter;
  readonly features?: AdapterFeatures;
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
      return (namespace) => new NoDedup(logs(namespace));
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

function casesById(
  make: (namespace: string) => Adapter,
  features?: AdapterFeatures,
): Map<string, ConformanceCase> {
  const cases = conformanceCases({
    name: "proof",
    create: ({ namespace }) => make(namespace),
    ...(features === undefined ? {} : { features }),
  });
  return new Map(cases.map((c) => [c.id, c]));
}

describe.each(proofs)("the suite fails an adapter that $bug", (proof) => {
  const memory = sharedStores();
  const create = proof.create?.() ?? ((namespace: string) => proof.make!(memory(namespace)));
  const broken = casesById(create, proof.features);
  const healthy = casesById(sharedStores(), proof.features);
  for (const [id, message] of Object.entries(proof.mustFail)) {
    it(`${id} fails, and passes against MemoryAdapter`, async () => {
      const brokenCase = broken.get(id);
      expect(brokenCase, `case ${id} exists`).toBeDefined();
      await expect(brokenCase!.run()).rejects.toThrow(message);
      await expect(healthy.get(id)!.run()).resolves.toBeUndefined();
    });
  }
});

describe("conformanceCases", () => {
  it("runs every case programmatically against MemoryAdapter, and all pass", async () => {
    const cases = [...casesById(sharedStores()).values()];
    expect(cases.length).toBeGreaterThanOrEqual(25);
    for (const c of cases) {
      expect(c.skip, c.id).toBeUndefined();
      await c.run();
    }
  });

  it("passes an adapter without dedup that declares dedup: false, in full", async () => {
    const logs = sharedLogs();
    const cases = casesById((namespace) => new NoDedup(logs(namespace)), { dedup: false });
    for (const c of cases.values()) if (c.skip === undefined) await c.run();
    expect(cases.get("dedup.across-instances")!.skip).toBe("needs features.dedup and features.persistent");
  });

  it("with ordering: none, accepts reordering within a shard but still catches a lost event", async () => {
    const logs = sharedLogs();
    const unordered = (namespace: string) => new NoDedup(logs(namespace), true);
    const declared = casesById(unordered, { ordering: "none", dedup: false });
    await declared.get("write.fifo")!.run();
    await declared.get("bus.round-trip")!.run();
    const undeclared = casesById(unordered, { dedup: false });
    await expect(undeclared.get("write.fifo")!.run()).rejects.toThrow(/differs from the text written/);
    const memory = sharedStores();
    const dropping = casesById((namespace) => new DropsOneEvent("drops-one", memory(namespace)), {
      ordering: "none",
    });
    await expect(dropping.get("write.round-trip")!.run()).rejects.toThrow(
      /differs from the text written|not read back/,
    );
  });

  it("refuses to run a skipped case, so a skip never reads as a pass", async () => {
    const cases = casesById(() => new MemoryAdapter(), { persistent: false });
    const skipped = cases.get("persistence.second-instance")!;
    expect(skipped.skip).toBe("needs features.persistent");
    await expect(skipped.run()).rejects.toThrow(/is skipped/);
  });

  it("gives every case a unique id of the form group.name", () => {
    const ids = [...casesById(sharedStores()).keys()];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+\.[a-z-]+$/);
  });

  it("rejects contradictory features before any case runs", () => {
    expect(() => casesById(() => new MemoryAdapter(), { readable: false, dedup: true })).toThrow(TypeError);
  });
});
