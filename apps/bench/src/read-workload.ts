/**
 * The read benchmark's events and its exactly-once check. Every event carries its global sequence
 * number `n` (0 … N-1), so a reader can prove it saw each event once: a count, a sum of the sequence
 * numbers (a checksum), and a seen-bitmap that names duplicates and gaps.
 */
import { type RawEvent, createBus } from "@netmesh/core";
import { tokenEvents } from "./workload.js";

/** Sessions the events are keyed by (routing over the shards, as users key by session). */
const SESSIONS = 1_000;

/** `count` ~200-byte token events, serialized and hashed once (before any clock starts). */
export async function readEvents(count: number): Promise<{ raws: RawEvent[]; bytes: number }> {
  // A bus over the default in-memory adapter, only to serialize and hash the way every bus does
  // (the routing hash has a fixed seed, so its RawEvents route the same on any bus).
  const routing = await createBus({ shards: 4 });
  const tokens = tokenEvents(count, SESSIONS);
  const raws = tokens.map((token, n) => routing.prepare({ n, ...token }, { key: token.session }));
  await routing.shutdown();
  const bytes = Math.round(raws.reduce((sum, raw) => sum + Buffer.byteLength(raw.json), 0) / count);
  return { raws, bytes };
}

/** Counts what a reader received against the N events written. */
export class Tally {
  /** Events received, duplicates included. */
  received = 0;
  private distinct = 0;
  private sum = 0;
  private duplicates = 0;
  private malformed = 0;
  private readonly seen: Uint8Array;

  constructor(readonly expected: number) {
    this.seen = new Uint8Array(expected);
  }

  /** Parses one event's JSON (the same work on every path) and records its sequence number. */
  addJson(json: string): void {
    this.add((JSON.parse(json) as { n?: unknown }).n);
  }

  /** Records one received sequence number. */
  add(n: unknown): void {
    this.received++;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n >= this.expected) {
      this.malformed++;
      return;
    }
    if (this.seen[n] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[n] = 1;
    this.distinct++;
    this.sum += n;
  }

  /** True once every event arrived (whether or not something arrived twice). */
  get complete(): boolean {
    return this.distinct === this.expected;
  }

  /** `undefined` when each event was read exactly once; otherwise what went wrong. */
  problem(): string | undefined {
    const n = this.expected;
    const checksum = (n * (n - 1)) / 2;
    if (this.received === n && this.distinct === n && this.sum === checksum && this.malformed === 0) {
      return undefined;
    }
    let firstMissing = -1;
    for (let i = 0; i < n && firstMissing < 0; i++) if (this.seen[i] === 0) firstMissing = i;
    return (
      `received ${this.received} of ${n} (distinct ${this.distinct}, duplicates ${this.duplicates}, ` +
      `malformed ${this.malformed}, checksum ${this.sum} vs ${checksum}` +
      `${firstMissing >= 0 ? `, first missing n=${firstMissing}` : ""})`
    );
  }
}
