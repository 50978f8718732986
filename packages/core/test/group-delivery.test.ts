import { afterEach, describe, expect, it } from "vitest";
import { AdapterShutdownError } from "../src/contract/adapter-errors.js";
import type { StoredEvent } from "../src/contract/adapter.js";
import { createBus } from "../src/index.js";
import { type Reader, createReader } from "../src/consumer/reader.js";
import { MemoryAdapter } from "../src/memory/memory-adapter.js";
import { MemoryStore } from "../src/memory/memory-store.js";

const TTL = 300;
const readers: Reader[] = [];

afterEach(async () => {
  await Promise.all(readers.splice(0).map((reader) => reader.close()));
});

async function produce(store: MemoryStore, count: number): Promise<void> {
  const bus = await createBus({ adapter: new MemoryAdapter({ store }), shards: 1 });
  for (let i = 0; i < count; i++) bus.ingest({ i }, { key: `k${i}` });
  await bus.shutdown();
}

/** Blocks the event loop (a synchronous loop body, a long GC pause, a stopped process). */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

/**
 * Member "a" of group "g" over a new store holding `count` events of one shard, with `unleased`: the
 * events `check` was given while "a" held no live lease of their shard in the backend.
 */
async function loneMember(count: number, pageSize: number) {
  const store = new MemoryStore();
  await produce(store, count);
  const reader = await createReader({ adapter: new MemoryAdapter({ store }) });
  readers.push(reader);
  const sub = reader.subscribe({ group: "g", member: "a", leaseTtlMs: TTL, rebalanceMs: 50, pageSize });
  const unleased: StoredEvent[] = [];
  const check = (event: StoredEvent): void => {
    const lease = store.groups.group("g").leases.get(event.shard);
    if (lease === undefined || lease.member !== "a" || lease.expiresAt <= store.groups.now())
      unleased.push(event);
  };
  return { sub, unleased, check };
}

describe("consumer groups: self-fencing", () => {
  it("a member whose event loop was blocked past its lease delivers nothing more under that lease", async () => {
    const { sub: member, unleased, check } = await loneMember(200, 500);
    // Every delivery must happen under a lease the member holds in the backend at that moment.
    const seen: StoredEvent[] = [];
    let heldAfterBlock: number[] | undefined;
    for await (const event of member) {
      check(event);
      seen.push(event);
      if (seen.length === 10) {
        block(3 * TTL); // the lease runs out while nothing can renew it
        heldAfterBlock = member.shards();
      }
      if (seen.length === 40) break;
    }
    expect(unleased.map((event) => event.id)).toEqual([]);
    expect(heldAfterBlock).toEqual([]); // nor does it claim the shard: another member may hold it
    // Nothing was lost either: the member took the shard again and resumed from the checkpoint.
    const first = seen.slice(0, 10).map((event) => event.id);
    expect(seen.slice(10, 20).map((event) => event.id)).toEqual(first);
  });
});

describe("consumer groups: a busy member keeps its leases", () => {
  it("a synchronous loop body slower than the lease over a page: its renewals still run, every event once", async () => {
    const { sub: member, unleased, check } = await loneMember(300, 150);
    const seen: StoredEvent[] = [];
    for await (const event of member) {
      check(event);
      seen.push(event);
      block(4); // CPU-bound work, never awaiting anything that is not already settled: 600 ms a page
      if (seen.length === 300) break; // bounded, whatever happens
    }
    expect(unleased.map((event) => event.id)).toEqual([]);
    expect(new Set(seen.map((event) => event.id)).size).toBe(300);
    expect(seen).toHaveLength(300); // no page given up and delivered again
  });
});

describe("consumer groups: leaving the loop with ack auto", () => {
  it("break and an exception count the event in hand as processed: the next member resumes right after it", async () => {
    const store = new MemoryStore();
    await produce(store, 100);
    const reader = await createReader({ adapter: new MemoryAdapter({ store }) });
    readers.push(reader);
    const settings = { group: "g", leaseTtlMs: TTL, rebalanceMs: 50, pageSize: 30 };
    const ids: string[] = [];
    for await (const event of reader.subscribe({ ...settings, member: "a" })) {
      ids.push(event.id);
      if (ids.length === 25) break; // mid-page: the page's first 25 count as processed
    }
    await expect(
      (async () => {
        for await (const event of reader.subscribe({ ...settings, member: "b" })) {
          ids.push(event.id);
          if (ids.length === 50) throw new Error("processing failed");
        }
      })(),
    ).rejects.toThrow("processing failed");
    for await (const event of reader.subscribe({ ...settings, member: "c" })) {
      ids.push(event.id);
      if (ids.length === 100) break;
    }
    expect(new Set(ids).size).toBe(100); // no event twice, none skipped
  });
});

describe("consumer groups: close() of a member whose loop body is stuck", () => {
  it("releases its shards at once; the next member resumes right after the event in hand", async () => {
    const store = new MemoryStore();
    await produce(store, 50);
    const [first, second] = await Promise.all(
      [0, 1].map(() => createReader({ adapter: new MemoryAdapter({ store }) })),
    );
    readers.push(first!, second!);
    // A long TTL and period: nothing but the release can hand the shard over within the test.
    const settings = { group: "g", leaseTtlMs: 30_000, rebalanceMs: 10_000, pageSize: 20 };
    const a = first!.subscribe({ ...settings, member: "a" });
    const byA: string[] = [];
    let stuck!: () => void;
    const inHand = new Promise<void>((resolve) => {
      stuck = resolve;
    });
    void (async () => {
      for await (const event of a) {
        byA.push(event.id);
        if (byA.length === 5) {
          stuck();
          await new Promise(() => {}); // never settles
        }
      }
    })();
    await inHand;
    const z = second!.subscribe({ ...settings, member: "z" });
    const byZ: string[] = [];
    const consuming = (async () => {
      for await (const event of z) {
        byZ.push(event.id);
        if (byZ.length === 45) break;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(byZ).toEqual([]); // "a" holds the one shard (its share)
    const began = performance.now();
    await a.close();
    await consuming;
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(a.shards()).toEqual([]);
    expect([...byA, ...byZ]).toHaveLength(50);
    expect(new Set([...byA, ...byZ]).size).toBe(50);
  });
});

describe("consumer groups: checkpoint() reports a failed write", () => {
  it("rejects with the coordinator's classified error and records nothing", async () => {
    const store = new MemoryStore();
    await produce(store, 50);
    const adapter = new MemoryAdapter({ store });
    const reader = await createReader({ adapter });
    readers.push(reader);
    const member = reader.subscribe({
      group: "g",
      member: "a",
      ack: "manual",
      leaseTtlMs: TTL,
      pageSize: 10,
    });
    const seen: StoredEvent[] = [];
    for await (const event of member) {
      seen.push(event);
      if (seen.length === 5) {
        await member.checkpoint();
        expect(store.groups.group("g").checkpoints.get(0)).toBe(event.id);
      }
      if (seen.length === 8) break;
    }
    // The member is closed; a second one over a shut-down adapter cannot write its checkpoint.
    const other = new MemoryAdapter({ store });
    const second = await createReader({ adapter: other });
    readers.push(second);
    const sub = second.subscribe({ group: "g", member: "b", ack: "manual", leaseTtlMs: TTL, pageSize: 10 });
    const iterator = sub[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    await other.shutdown();
    const error = await sub.checkpoint().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(AdapterShutdownError);
    expect((error as AdapterShutdownError).code).toBe("ADAPTER_SHUTDOWN");
    // Not recorded: the position is still the one the first member left.
    expect(store.groups.group("g").checkpoints.get(0)).toBe(seen[4]!.id);
  });
});

/** Member "a" of group "g", pages of 10, over a new store holding `count` events of one shard. */
async function pagedMember(count: number) {
  const store = new MemoryStore();
  await produce(store, count);
  const reader = await createReader({ adapter: new MemoryAdapter({ store }) });
  readers.push(reader);
  const member = reader.subscribe({
    group: "g",
    member: "a",
    leaseTtlMs: TTL,
    rebalanceMs: 50,
    pageSize: 10,
  });
  return { store, member };
}

describe("consumer groups: a member fenced by its own clock", () => {
  it("writes no checkpoint past its deadline and releases the shard at once, though the backend still counts it held", async () => {
    const { store, member } = await pagedMember(100);
    const state = store.groups.group("g");
    const seen: StoredEvent[] = [];
    let fencedAt = 0;
    let checkpointAtBlock: string | undefined;
    let stallMs = 0;
    for await (const event of member) {
      seen.push(event);
      if (seen.length === 20) {
        // The last event of the second page: the first page is checkpointed (auto). The backend's
        // clock now lags (as a JetStream observer that saw the last renewal late counts from then):
        // it still counts the lease held for 2 TTLs after this member's own deadline.
        checkpointAtBlock = state.checkpoints.get(0);
        store.groups.now = () => performance.now() - 3 * TTL;
        block(TTL + 50);
        fencedAt = performance.now();
      }
      if (seen.length === 21) {
        stallMs = performance.now() - fencedAt;
        break;
      }
    }
    expect(checkpointAtBlock).toBe(seen[9]!.id);
    // The second page was not checkpointed past the deadline: it is delivered again, from the first.
    expect(seen[20]!.id).toBe(seen[10]!.id);
    // Released at the fence: the member took the shard again at once, not once the backend let it go.
    expect(stallMs).toBeLessThan(TTL);
  });

  it("does not renew a lease past its deadline, though the backend would still accept it", async () => {
    const { store, member } = await pagedMember(50);
    const seen: StoredEvent[] = [];
    for await (const event of member) {
      seen.push(event);
      if (seen.length === 5) {
        store.groups.now = () => performance.now() - 3 * TTL; // the backend counts the lease held still
        block(TTL + 50);
        // The loop turns before the next event is asked for: the overdue renewal timer runs first.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (seen.length === 6) break;
    }
    // The member gave the shard up (no renewal revived it) and took it again from the checkpoint
    // (none yet): the rest of the page was not delivered under the lease that ran out.
    expect(seen[5]!.id).toBe(seen[0]!.id);
  });
});
