import { setTimeout as sleep } from "node:timers/promises";
import {
  type Adapter,
  type GroupSubscription,
  type Reader,
  type StoredEvent,
  createReader,
} from "@netmesh/core";
import type { Backend } from "./backends/backend.js";
import type { ConsumerGauge } from "./consumers.js";

/** The group's name in the backend (its keys live under the run's unique prefix). */
export const GROUP_NAME = "playground";
/**
 * A short rebalance period, so a short run shows the shards being split; the lease TTL stays at the
 * default (10 s): it only decides how soon a crashed member's shards are taken over, and a short one
 * on a loaded machine lets a slow but live member lose its lease (then events are redelivered).
 */
const REBALANCE_MS = 250;

/** One member's share of the work. */
export interface MemberFigures {
  readonly member: string;
  /** Events delivered to this member. */
  readonly events: number;
  /** Shards it held when the group was closed (after the last rebalance). */
  readonly shards: readonly number[];
}

/** A running consumer group. */
export interface RunningGroup {
  /** Events delivered to all members so far. */
  delivered(): number;
  /** Waits (bounded) until `total` events were delivered, then closes every member and reader. */
  finish(total: number, timeoutMs: number): Promise<{ members: MemberFigures[]; complete: boolean }>;
  /** Closes everything at once (on failure). Idempotent. */
  abort(): Promise<void>;
}

/** The message when the backend's adapter offers no consumer-group coordination. */
export function groupRefusal(adapter: Adapter, name: string): string | undefined {
  if (typeof adapter.coordination === "function") return undefined;
  return (
    `--scenario group needs an adapter with consumer-group coordination (coordination()): ` +
    `memory and redis have it, ${name} does not (yet)`
  );
}

/**
 * Starts `count` members of one consumer group, each a `createReader` of its own over the backend (its
 * own adapter and connection, as separate processes would be) subscribed with
 * `reader.subscribe({ group, member })`. The members split the shards with leases; every delivered
 * event goes to `visit` (the verifier: an event delivered twice, to one member or two, is a duplicate)
 * and to the gauge.
 */
export async function startGroup(
  backend: Backend,
  shards: readonly number[],
  count: number,
  visit: (event: StoredEvent) => void,
  gauge: ConsumerGauge,
): Promise<RunningGroup> {
  const readers: Reader[] = [];
  const members: GroupSubscription[] = [];
  const counts: number[] = [];
  const loops: Promise<void>[] = [];
  let total = 0;
  try {
    for (let i = 0; i < count; i++) {
      const reader = await createReader({ adapter: backend.createAdapter(), shards });
      readers.push(reader);
      const member = reader.subscribe({
        group: GROUP_NAME,
        member: `member-${i + 1}`,
        rebalanceMs: REBALANCE_MS,
      });
      members.push(member);
      counts.push(0);
      loops.push(
        (async () => {
          for await (const event of member) {
            counts[i]!++;
            total++;
            visit(event);
            gauge.observe(event);
          }
        })(),
      );
    }
  } catch (error) {
    await Promise.all(readers.map((reader) => reader.close()));
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const held = members.map((member) => member.shards());
      await Promise.all(members.map((member) => member.close()));
      await Promise.allSettled(loops);
      await Promise.all(readers.map((reader) => reader.close()));
      lastShards = held;
    })();
    return closing;
  };
  let lastShards: number[][] = [];
  return {
    delivered: () => total,
    async finish(expected, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (total < expected && performance.now() < deadline) await sleep(20);
      const complete = total >= expected;
      await close();
      return {
        complete,
        members: members.map((member, i) => ({
          member: member.member,
          events: counts[i]!,
          shards: lastShards[i] ?? [],
        })),
      };
    },
    abort: close,
  };
}
