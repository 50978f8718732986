/**
 * The read benchmark's events and its exactly-once check. Every event carries its global sequence
 * number `n` (0 … N-1), so a reader can prove it saw each event once: a count, a sum of the sequence
 * numbers (a checksum), and a seen-bitmap that names duplicates and gaps. A reader that parses gets
 * `n` from the parsed event; one that passes the JSON text on unparsed finds `n` by the whole text in
 * an index of the written texts, which also proves every byte came back as written.
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

/** The values `raws` were serialized from (what an `ingest(value)` writer hands the bus), and their routing keys. */
export function valuesOf(raws: readonly RawEvent[]): {
  values: unknown[];
  keyOf: (value: unknown) => string;
} {
  return {
    values: raws.map((raw) => JSON.parse(raw.json) as unknown),
    keyOf: (value) => (value as { session: string }).session,
  };
}

/** Each written text → its `n`, for the readers that pass the text on unparsed ({@link Tally.addText}). */
export function textIndex(raws: readonly RawEvent[]): ReadonlyMap<string, number> {
  return new Map(raws.map((raw, n) => [raw.json, n]));
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
  /** Texts taken by {@link addText}, looked up only when the result is asked for (outside the clock). */
  private unresolved: string[] = [];

  /** `texts`: the written texts by `n`, for {@link addText}. */
  constructor(
    readonly expected: number,
    private readonly texts: ReadonlyMap<string, number> = new Map(),
  ) {
    this.seen = new Uint8Array(expected);
  }

  /** Parses one event's JSON (the same work on every parsing path) and records its sequence number. */
  addJson(json: string): void {
    this.add((JSON.parse(json) as { n?: unknown }).n);
  }

  /**
   * Records one event read as text, unparsed: known only when the whole text is one that was written.
   * A consumer that passes text on only keeps a reference, so that is all this does while the clock
   * runs; looking the text up in the index (hashing 200 bytes) would cost more than the read itself,
   * and it happens when {@link complete} or {@link problem} is asked.
   */
  addText(json: string): void {
    this.received++;
    this.unresolved.push(json);
  }

  private resolveTexts(): void {
    const texts = this.unresolved;
    if (texts.length === 0) return;
    this.unresolved = [];
    this.received -= texts.length;
    for (const json of texts) this.add(this.texts.get(json));
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
    this.resolveTexts();
    return this.distinct === this.expected;
  }

  /** `undefined` when each event was read exactly once; otherwise what went wrong. */
  problem(): string | undefined {
    this.resolveTexts();
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
