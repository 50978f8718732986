import type { BackpressureOption, EventBus, IngestStatus } from "@netmesh/core";
import { ACCEPTED, type Ledger, REFUSED } from "./ledger.js";
import type { Step } from "./step.js";

/** The bus calls the sender uses, as reported in the summary. */
export type IngestPath =
  | "ingest"
  | "ingestOrWait"
  | "ingestMany"
  | "ingestManyOrWait"
  | "ingestRaw"
  | "ingestRawOrWait";

/** Calls made and events offered through one ingest path. */
export interface PathCount {
  calls: number;
  events: number;
}

/**
 * Hands workload steps to the bus through the ingest path that fits each one, and records what the bus
 * answered in the ledger.
 *
 * With `block` backpressure the goal is a lossless run without a single `"full"` rejection. The
 * synchronous calls would return `"full"` (and count a rejection) on a full ring, so before each chunk
 * the sender checks the free room of every ring: when every ring can take the whole chunk, the chunk
 * goes through the fast synchronous calls (nothing else pushes, and the pumps only free room, so it
 * cannot fill up); otherwise it goes through `ingestOrWait` / `ingestManyOrWait` / `ingestRawOrWait`, which wait for room.
 * Other modes always use the synchronous calls, so the mode's own behaviour is what the run shows.
 */
export class Sender {
  /** Calls and events per ingest path. */
  readonly paths: Record<IngestPath, PathCount> = {
    ingest: { calls: 0, events: 0 },
    ingestOrWait: { calls: 0, events: 0 },
    ingestMany: { calls: 0, events: 0 },
    ingestManyOrWait: { calls: 0, events: 0 },
    ingestRaw: { calls: 0, events: 0 },
    ingestRawOrWait: { calls: 0, events: 0 },
  };
  /** Chunks sent through the waiting calls because some ring lacked room. */
  waitingChunks = 0;
  /**
   * Events of partly accepted bursts that the bus never looked at: with fail-producer, `ingestMany`
   * stops at the first refusal (and counts that one as rejected). The playground does not resume them.
   */
  unoffered = 0;
  private readonly blocking: boolean;
  /** Whether a partly refused `ingestMany` accepted exactly a prefix (fail-producer and block stop there). */
  private readonly prefixStops: boolean;
  private synchronous = true;

  constructor(
    private readonly bus: EventBus,
    private readonly ledger: Ledger,
    backpressure: BackpressureOption,
  ) {
    this.blocking = backpressure === "block";
    this.prefixStops = backpressure === "block" || backpressure === "fail-producer";
  }

  /** Chooses the calls for the next chunk of at most `maxEvents` events (see the class comment). */
  beginChunk(maxEvents: number): void {
    if (!this.blocking) return;
    let room = Number.POSITIVE_INFINITY;
    for (const shard of this.bus.stats().shards) room = Math.min(room, shard.capacity - shard.queued);
    this.synchronous = room >= maxEvents;
    if (!this.synchronous) this.waitingChunks++;
  }

  /**
   * Sends one step. Returns `undefined` when it completed synchronously (the common case, so the hot
   * loop allocates no promise), or a promise when it had to wait for room.
   */
  send(step: Step): Promise<void> | undefined {
    if (step.kind === "replay") return this.replay(step);
    if (step.kind === "burst") return this.burst(step);
    return this.single(step);
  }

  private single(step: Step): Promise<void> | undefined {
    const event = step.events[0]!;
    if (this.synchronous) {
      this.count("ingest", 1);
      this.recordStatus(step, event.seq, this.bus.ingest(event, step.options));
      return undefined;
    }
    this.count("ingestOrWait", 1);
    return this.bus
      .ingestOrWait(event, step.options)
      .then((status) => this.recordStatus(step, event.seq, status));
  }

  private burst(step: Step): Promise<void> | undefined {
    const n = step.events.length;
    if (this.synchronous) {
      this.count("ingestMany", n);
      this.recordMany(step, this.bus.ingestMany(step.events, step.options));
      return undefined;
    }
    this.count("ingestManyOrWait", n);
    return this.bus
      .ingestManyOrWait(step.events, step.options)
      .then((accepted) => this.recordMany(step, accepted));
  }

  /** Cache replays: serialized once with `prepare`, then handed over pre-serialized with `ingestRaw`. */
  private replay(step: Step): Promise<void> | undefined {
    const raws = step.events.map((event) => this.bus.prepare(event, step.options));
    const send = () => {
      for (let i = 0; i < raws.length; i++) {
        this.count("ingestRaw", 1);
        this.recordStatus(step, step.events[i]!.seq, this.bus.ingestRaw(raws[i]!));
      }
    };
    if (this.synchronous) {
      send();
      return undefined;
    }
    return (async () => {
      for (let i = 0; i < raws.length; i++) {
        this.count("ingestRawOrWait", 1);
        this.recordStatus(step, step.events[i]!.seq, await this.bus.ingestRawOrWait(raws[i]!));
      }
    })();
  }

  private recordStatus(step: Step, seq: number, status: IngestStatus): void {
    this.ledger.record(step.stream, seq, 1, status === "accepted" ? ACCEPTED : REFUSED);
  }

  private recordMany(step: Step, accepted: number): void {
    const n = step.events.length;
    const first = step.events[0]!.seq;
    if (accepted === n) {
      this.ledger.record(step.stream, first, n, ACCEPTED);
    } else if (this.prefixStops) {
      if (accepted > 0) this.ledger.record(step.stream, first, accepted, ACCEPTED);
      this.ledger.record(step.stream, first + accepted, n - accepted, REFUSED);
      this.unoffered += n - accepted - 1;
    } else {
      // drop-newest and sample carry on past a refusal and report only a count: which events were
      // taken is unknown, so the verifier accepts either outcome for these (but still checks order).
      this.ledger.recordUnknown(step.stream, first, n, accepted);
    }
  }

  private count(path: IngestPath, events: number): void {
    const entry = this.paths[path];
    entry.calls++;
    entry.events += events;
  }
}
