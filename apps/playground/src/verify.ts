import { parseMessageId, type StoredEvent } from "@netmesh/core";
import { ACCEPTED, REFUSED, type StreamOptions, UNKNOWN } from "./ledger.js";
import { SequenceSet } from "./sequence-set.js";

/** What the verifier needs to know about one stream (a `StreamLedger` is one). */
export interface ExpectedStream {
  readonly name: string;
  /** Dense position of the stream, from 0. */
  readonly index: number;
  readonly options: StreamOptions;
  /** Events offered to the bus: `seq` runs from 0 to `length - 1`. */
  readonly length: number;
  /** `ACCEPTED`, `REFUSED` or `UNKNOWN` for an offered event, 0 otherwise. */
  stateOf(seq: number): number;
}

/** What the verifier checks the read-back against (a `Ledger` is one). */
export interface Expectations {
  readonly streams: readonly ExpectedStream[];
  get(name: string): ExpectedStream | undefined;
  /** Events the bus accepted according to its ingest answers. */
  readonly expectedAccepted: number;
  /** How many of the `UNKNOWN` events were accepted (their count is known, not which ones). */
  readonly unknownAccepted: number;
}

/** The bus counters the read-back must reconcile with, taken after `flush()`. */
export interface BusCounters {
  readonly ingested: number;
  readonly dispatched: number;
  readonly dropped: number;
}

/** Kinds of problems the verifier reports. */
export type IssueKind =
  /** The stored text is not JSON, or not a playground event (no stream name or `seq`). */
  | "unparseable"
  /** An event of an unknown stream, or with a `seq` that was never offered. */
  | "unexpected"
  /** An event the bus refused came back anyway. */
  | "refusedStored"
  /** The same (stream, seq) came back more than once. */
  | "duplicate"
  /** A keyed stream's events came back out of `seq` order. */
  | "outOfOrder"
  /** An event came back from a shard other than the one its key routes to or that was polled. */
  | "wrongShard"
  /** A message id that is not `producer:shard:sequence`, or names another shard. */
  | "badMessageId"
  /** The same message id came back more than once. */
  | "duplicateMessageId"
  /** An accepted event never came back. */
  | "missing"
  /** The bus dropped accepted events (see `droppedBy`). */
  | "dropped"
  /** Read-back count differs from the bus's `dispatched`, or the ledger from its `ingested`. */
  | "countMismatch"
  /** Paging through `pollShard` went wrong (a cursor that did not advance). */
  | "paging";

/** Per-label totals of streams, e.g. how many chat sessions came back complete and in order. */
export interface StreamTally {
  streams: number;
  verified: number;
}

/** The verdict of a read-back. */
export interface Verification {
  /** True when every accepted event came back exactly once, in order, and nothing else did. */
  readonly ok: boolean;
  /** Events read back. */
  readonly readBack: number;
  /** Events that had to come back (accepted by the bus). */
  readonly expected: number;
  /** Problems found, per kind (only kinds that occurred). */
  readonly issues: Partial<Record<IssueKind, number>>;
  /** The first few problems, spelled out. */
  readonly examples: readonly string[];
  /** Streams per label (`chat`, `agent`, `metrics`) and how many came back intact. */
  readonly streams: Readonly<Record<string, StreamTally>>;
  /** Events read back per `type`, most frequent first. */
  readonly eventTypes: Readonly<Record<string, number>>;
  /** Events read back per shard id. */
  readonly perShard: Readonly<Record<number, number>>;
  /** Events read back that carried no message id (the contract allows it; dedup is then unchecked). */
  readonly withoutMessageId: number;
}

const MAX_EXAMPLES = 10;

/**
 * Checks a read-back event by event against the ledger, in O(1) memory per event read (a bit or a
 * byte each): feed it every stored event with {@link ReadBackVerifier.add}, in the order each shard
 * returned them, then call {@link ReadBackVerifier.finish}. Pure: no I/O, no clock, so tests can feed
 * it made-up read-backs. {@link verifyReadBack} wraps it for an in-memory list.
 */
export class ReadBackVerifier {
  private readonly issues: Partial<Record<IssueKind, number>> = {};
  private readonly examples: string[] = [];
  // Indexed by stream; they grow as streams appear, so a verifier made before the run (a consumer
  // group verifies while events arrive) knows the streams opened after it.
  private readonly seen: (Uint8Array | undefined)[] = [];
  private readonly lastSeq: number[] = [];
  private readonly broken: boolean[] = [];
  private readonly types = new Map<string, number>();
  private readonly perShard = new Map<number, number>();
  private readonly messageIds = new Map<string, SequenceSet>();
  private idPrefix = "";
  private idSet: SequenceSet | undefined;
  private readBack = 0;
  private unknownSeen = 0;
  private withoutMessageId = 0;

  constructor(private readonly expected: Expectations) {}

  /** Checks one stored event; `polledShard` is the shard it was read from (default: its own field). */
  add(event: StoredEvent, polledShard: number = event.shard): void {
    this.readBack++;
    this.perShard.set(event.shard, (this.perShard.get(event.shard) ?? 0) + 1);
    const where = `shard ${polledShard} entry ${event.id}`;
    if (event.shard !== polledShard)
      this.issue("wrongShard", `${where}: stored event says shard ${event.shard}`);
    this.checkMessageId(event, where);

    let parsed: { type?: unknown; session?: unknown; source?: unknown; seq?: unknown };
    try {
      parsed = JSON.parse(event.json);
    } catch {
      this.issue("unparseable", `${where}: not JSON`);
      return;
    }
    const name = typeof parsed.session === "string" ? parsed.session : parsed.source;
    const seq = parsed.seq;
    if (typeof name !== "string" || typeof seq !== "number" || !Number.isInteger(seq)) {
      this.issue("unparseable", `${where}: no stream name or seq`);
      return;
    }
    const type = typeof parsed.type === "string" ? parsed.type : "(none)";
    this.types.set(type, (this.types.get(type) ?? 0) + 1);
    const stream = this.expected.get(name);
    const state = stream?.stateOf(seq) ?? 0;
    if (stream === undefined || state === 0) {
      this.issue("unexpected", `${name} seq ${seq}: never sent`);
      return;
    }
    this.checkStreamEvent(stream, seq, state, event.shard);
  }

  /** Records a problem of the read-back itself, found by whoever paged through the adapter. */
  addPagingProblem(message: string): void {
    this.issue("paging", message);
  }

  /** Reconciles the totals with the bus's counters and returns the verdict. Call it once, last. */
  finish(counters: BusCounters): Verification {
    const streams: Record<string, StreamTally> = {};
    for (const stream of this.expected.streams) {
      const seen = this.seen[stream.index];
      let intact = this.broken[stream.index] !== true;
      for (let seq = 0; seq < stream.length; seq++) {
        if (stream.stateOf(seq) === ACCEPTED && (seen === undefined || seen[seq] === 0)) {
          intact = false;
          this.issue("missing", `${stream.name} seq ${seq}: accepted but never came back`);
        }
      }
      streams[stream.options.label] ??= { streams: 0, verified: 0 };
      const tally = streams[stream.options.label]!;
      tally.streams++;
      if (intact) tally.verified++;
    }
    // Partly accepted ingestMany calls: the bus said how many it took, so that many must be back.
    const { unknownAccepted } = this.expected;
    if (this.unknownSeen < unknownAccepted) {
      this.issue(
        "missing",
        `${unknownAccepted - this.unknownSeen} events of partly accepted bursts never came back`,
      );
    } else if (this.unknownSeen > unknownAccepted) {
      this.issue(
        "countMismatch",
        `${this.unknownSeen} events of partly accepted bursts came back, ${unknownAccepted} accepted`,
      );
    }
    const expected = this.expected.expectedAccepted;
    if (counters.dropped > 0) this.issue("dropped", `the bus dropped ${counters.dropped} accepted events`);
    if (this.readBack !== counters.dispatched) {
      this.issue(
        "countMismatch",
        `read back ${this.readBack} events, the bus dispatched ${counters.dispatched}`,
      );
    }
    if (counters.ingested !== expected) {
      this.issue(
        "countMismatch",
        `the bus counted ${counters.ingested} ingested, its answers accepted ${expected}`,
      );
    }
    return {
      ok: Object.keys(this.issues).length === 0 && this.readBack === expected,
      readBack: this.readBack,
      expected,
      issues: { ...this.issues },
      examples: [...this.examples],
      streams,
      eventTypes: Object.fromEntries([...this.types].sort((a, b) => b[1] - a[1])),
      perShard: Object.fromEntries([...this.perShard].sort((a, b) => a[0] - b[0])),
      withoutMessageId: this.withoutMessageId,
    };
  }

  private checkStreamEvent(stream: ExpectedStream, seq: number, state: number, shard: number): void {
    const i = stream.index;
    let seen = this.seen[i];
    if (seen === undefined || seen.length < stream.length) {
      const grown = new Uint8Array(stream.length);
      if (seen !== undefined) grown.set(seen);
      this.seen[i] = seen = grown;
    }
    if (seen[seq] !== 0) {
      this.streamIssue(i, "duplicate", `${stream.name} seq ${seq}: came back twice`);
      return;
    }
    seen[seq] = 1;
    if (state === REFUSED) {
      this.streamIssue(i, "refusedStored", `${stream.name} seq ${seq}: refused yet stored`);
      return;
    }
    if (state === UNKNOWN) this.unknownSeen++;
    const expectedShard = stream.options.shard;
    if (expectedShard !== undefined && shard !== expectedShard) {
      this.streamIssue(
        i,
        "wrongShard",
        `${stream.name} seq ${seq}: on shard ${shard}, its key routes to ${expectedShard}`,
      );
    }
    if (!stream.options.ordered) return;
    const last = this.lastSeq[i] ?? -1;
    if (seq < last)
      this.streamIssue(i, "outOfOrder", `${stream.name} seq ${seq}: came back after seq ${last}`);
    else this.lastSeq[i] = seq;
  }

  /**
   * Message ids are `producer:shard:sequence` with gap-free sequences per (producer, shard), so one
   * bitmap per (producer, shard) detects a repeated id. Reads come shard by shard, so the prefix of the
   * previous id almost always matches and the id is neither split nor re-validated.
   */
  private checkMessageId(event: StoredEvent, where: string): void {
    const id = event.messageId;
    if (id === undefined) {
      this.withoutMessageId++;
      return;
    }
    const cut = id.lastIndexOf(":");
    if (cut !== this.idPrefix.length || this.idSet === undefined || !id.startsWith(this.idPrefix)) {
      const parts = parseMessageId(id);
      if (parts === undefined || parts.shard !== event.shard) {
        this.issue("badMessageId", `${where}: bad message id ${JSON.stringify(id)}`);
        return;
      }
      this.idPrefix = id.slice(0, cut);
      this.idSet = this.messageIds.get(this.idPrefix);
      if (this.idSet === undefined) {
        this.idSet = new SequenceSet();
        this.messageIds.set(this.idPrefix, this.idSet);
      }
    }
    const sequence = decimal(id, cut + 1);
    if (sequence < 0) {
      this.issue("badMessageId", `${where}: bad message id ${JSON.stringify(id)}`);
      return;
    }
    if (!this.idSet.add(sequence))
      this.issue("duplicateMessageId", `${where}: message id ${id} came back twice`);
  }

  private streamIssue(index: number, kind: IssueKind, example: string): void {
    this.broken[index] = true;
    this.issue(kind, example);
  }

  private issue(kind: IssueKind, example: string): void {
    this.issues[kind] = (this.issues[kind] ?? 0) + 1;
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(example);
  }
}

/** The non-negative decimal integer spelled by `text` from `start` to its end, or -1 if it is not one. */
function decimal(text: string, start: number): number {
  if (start >= text.length || start + 16 < text.length) return -1;
  let value = 0;
  for (let i = start; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * Verifies a complete read-back held in memory: every accepted event came back exactly once (by
 * stream and seq, and by message id), keyed streams in `seq` order and on their key's shard, refused
 * events did not come back, and the count matches the bus's counters. Pure; see {@link ReadBackVerifier}.
 */
export function verifyReadBack(
  expected: Expectations,
  events: Iterable<StoredEvent>,
  counters: BusCounters,
): Verification {
  const verifier = new ReadBackVerifier(expected);
  for (const event of events) verifier.add(event);
  return verifier.finish(counters);
}
