import { isDeepStrictEqual } from "node:util";
import {
  type Adapter,
  type GroupCoordinator,
  type GroupSubscription,
  type Reader,
  type StoredEvent,
  TransientError,
  createBus,
  createReader,
} from "@netmesh/core";
import { expect } from "vitest";

/** Settings every member of the suite uses (short, so the suite runs in seconds). */
export interface GroupTimings {
  readonly ttlMs: number;
  readonly rebalanceMs: number;
}

/** One member of the group under test, in this process, as a separate process would be. */
export interface TestMember {
  readonly name: string;
  readonly reader: Reader;
  readonly sub: GroupSubscription;
  /** Every event it delivered, in order. */
  readonly seen: StoredEvent[];
  /** When it crashed (performance.now()), once it did. */
  crashedAt(): number | undefined;
  /** Crashes after `after` more deliveries; returns the total it will have delivered by then. */
  armCrash(after: number): number;
  /** Stops consuming without closing anything. */
  halt(): void;
}

/**
 * Makes `adapter`'s coordinator "crashable": once `crashed()` is true every call rejects, as calls of a
 * dead process never arrive (no checkpoint, release or leave reaches the backend), and its watches go
 * silent. `watch` keeps its contract (it returns the function that ends the watch): once crashed it
 * watches nothing and returns a no-op.
 */
export function crashable(adapter: Adapter, crashed: () => boolean): void {
  const coordination = adapter.coordination?.bind(adapter);
  if (coordination === undefined) throw new Error(`adapter ${adapter.name} has no coordination()`);
  let wrapped: GroupCoordinator | undefined;
  Object.defineProperty(adapter, "coordination", {
    configurable: true,
    value: (): GroupCoordinator => {
      if (wrapped !== undefined) return wrapped;
      const inner = coordination();
      const calls: Record<string, unknown> = {};
      for (const name of Object.keys(inner) as (keyof GroupCoordinator)[]) {
        if (name === "watch") {
          calls[name] = (group: string, listener: () => void): (() => void) =>
            crashed()
              ? () => {}
              : inner.watch!(group, () => {
                  if (!crashed()) listener();
                });
          continue;
        }
        calls[name] = (...args: unknown[]) =>
          crashed()
            ? Promise.reject(new TransientError("crashed"))
            : (inner[name] as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
      }
      wrapped = calls as unknown as GroupCoordinator;
      return wrapped;
    },
  });
}

/** A group under test: members created over `create()`, closed by `closeAll()`. */
export class GroupHarness {
  private readonly open: TestMember[] = [];

  constructor(
    private readonly create: () => Adapter,
    readonly timings: GroupTimings,
    readonly group = "billing",
  ) {}

  /** Writes events `{ i }` for i in [from, from + count) over 8 shards with a bus of its own. */
  async produce(from: number, count: number, shards = 8): Promise<void> {
    const bus = await createBus({ adapter: this.create(), shards });
    for (let i = from; i < from + count; i++) bus.ingest({ i }, { key: `k${i}` });
    await bus.shutdown();
  }

  /** A new member, consuming at once. */
  async join(name: string, pageSize = 100): Promise<TestMember> {
    const adapter = this.create();
    let crashed = false;
    crashable(adapter, () => crashed);
    const reader = await createReader({ adapter, shardRefreshMs: 100 });
    const sub = reader.subscribe({
      group: this.group,
      member: name,
      leaseTtlMs: this.timings.ttlMs,
      rebalanceMs: this.timings.rebalanceMs,
      pageSize,
    });
    const seen: StoredEvent[] = [];
    let halted = false;
    let crashedAt: number | undefined;
    let crashAt = 0;
    const iterator = sub[Symbol.asyncIterator]();
    void (async () => {
      while (!halted) {
        const next = await iterator.next();
        if (next.done === true) return;
        seen.push(next.value);
        if (seen.length === crashAt) {
          crashed = true;
          crashedAt = performance.now();
          return;
        }
      }
    })();
    const member: TestMember = {
      name,
      reader,
      sub,
      seen,
      crashedAt: () => crashedAt,
      armCrash: (after) => {
        crashAt = seen.length + after;
        return crashAt;
      },
      halt: () => {
        halted = true;
      },
    };
    this.open.push(member);
    return member;
  }

  /** Closes every member's reader. */
  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((member) => member.reader.close()));
  }
}

/** Waits until `condition` holds; the time it took, ms. Throws after `ms`. */
export async function waitFor(what: string, condition: () => boolean, ms = 15_000): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - start;
}

/**
 * Reads `read()` until it equals `expected` (a coordinator that follows the backend shows another
 * process's write once it arrived); asserts it after `ms` at the latest.
 */
export async function converges<T>(
  what: string,
  read: () => Promise<T>,
  expected: T,
  ms = 5_000,
): Promise<void> {
  const start = performance.now();
  let seen = await read();
  while (!isDeepStrictEqual(seen, expected) && performance.now() - start < ms) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    seen = await read();
  }
  expect(seen, what).toEqual(expected);
}

/** Deliveries per event (`shard:id`) over all members. */
export function tally(members: readonly TestMember[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const member of members) {
    for (const event of member.seen) {
      const key = `${event.shard}:${event.id}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** Deliveries beyond the first, summed. */
export function duplicates(counts: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const count of counts.values()) sum += count - 1;
  return sum;
}

/** Every one of `shards` shards owned by exactly one member, and each member holding its fair share. */
export function balanced(members: readonly TestMember[], shards: number): boolean {
  const owned = members.flatMap((member) => member.sub.shards());
  const low = Math.floor(shards / members.length);
  return (
    owned.length === shards &&
    new Set(owned).size === shards &&
    members.every((member) => [low, low + 1].includes(member.sub.shards().length))
  );
}
