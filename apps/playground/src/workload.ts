import { METRICS_SOURCE, type MetricsEvent, type SessionKind } from "./events.js";
import { Ledger, type StreamLedger } from "./ledger.js";
import { Prng } from "./prng.js";
import { sessionScript } from "./session.js";
import type { Step } from "./step.js";

/** Size and seed of a workload. */
export interface WorkloadOptions {
  /** Number of sessions (conversations and agent runs) over the whole run. */
  readonly sessions: number;
  /** Approximate total number of events, heartbeats included. */
  readonly events: number;
  /** Seed of every random choice: the same seed gives the same events. */
  readonly seed: number;
}

/** Fewest events a session can be planned with: start, a prompt, a verdict, end. */
export const MIN_EVENTS_PER_SESSION = 4;
/** One unkeyed metrics heartbeat per this many session events (about 1.5% of the traffic). */
const HEARTBEAT_EVERY = 64;
/** Sessions in progress at once. Their steps interleave at random, as concurrent users' would. */
const MAX_CONCURRENT_SESSIONS = 256;
/** Share of sessions that are multi-agent runs rather than chats. */
const AGENT_SHARE = 0.4;
/** Synthetic start of the run's clock (2025-01-01T00:00:00Z), so timestamps are reproducible. */
const EPOCH_MS = 1_735_689_600_000;
const WORKERS = ["gw-eu-1", "gw-eu-2", "gw-us-1", "gw-us-2"];

/**
 * The playground's traffic: many sessions in progress at once, each a {@link sessionScript}, their steps
 * interleaved at random, plus periodic unkeyed metrics heartbeats. It hands out one {@link Step} at a
 * time ({@link Workload.next}) and records every stream in its {@link Ledger}, so the producer controls
 * pacing and the verifier knows what to expect.
 */
export class Workload {
  /** Acceptance records; the sender fills them in as it hands steps to the bus. */
  readonly ledger = new Ledger();
  /** Events handed out so far. */
  produced = 0;
  /** Sessions started so far, per kind. */
  readonly started: Record<SessionKind, number> = { chat: 0, agent: 0 };
  private readonly rng: Prng;
  private readonly active: Generator<Step, void, undefined>[] = [];
  private readonly metrics: StreamLedger;
  private nextSession = 0;
  private heartbeats = 0;
  private untilHeartbeat = HEARTBEAT_EVERY;
  private readonly meanBudget: number;
  private readonly concurrency: number;

  /**
   * @param shardFor the bus's routing of a partition key, recorded per session so the verifier can
   *   check that each session's events all landed on the shard its key routes to; `undefined` when
   *   keys may move (dynamic scaling), so there is no shard to check.
   */
  constructor(
    readonly options: WorkloadOptions,
    private readonly shardFor: (key: string) => number | undefined,
  ) {
    this.rng = new Prng(options.seed);
    this.concurrency = Math.min(options.sessions, MAX_CONCURRENT_SESSIONS);
    const sessionEvents = (options.events * HEARTBEAT_EVERY) / (HEARTBEAT_EVERY + 1);
    this.meanBudget = Math.max(MIN_EVENTS_PER_SESSION, sessionEvents / options.sessions);
    this.metrics = this.ledger.open(METRICS_SOURCE, { ordered: false, label: "metrics" });
  }

  /** Sessions in progress right now. */
  get activeSessions(): number {
    return this.active.length;
  }

  /** True once every session has ended. */
  get done(): boolean {
    return this.active.length === 0 && this.nextSession === this.options.sessions;
  }

  /** The next step, or `undefined` when every session has ended. */
  next(): Step | undefined {
    if (this.untilHeartbeat <= 0 && !this.done) {
      this.untilHeartbeat = HEARTBEAT_EVERY;
      return this.count(this.heartbeat());
    }
    while (this.active.length < this.concurrency && this.nextSession < this.options.sessions) {
      this.active.push(this.startSession(this.nextSession++));
    }
    // Each pass either returns a step or retires a session, so this ends within `sessions` passes.
    while (this.active.length > 0) {
      const slot = this.rng.int(0, this.active.length - 1);
      const result = this.active[slot]!.next();
      if (!result.done) {
        this.untilHeartbeat -= result.value.events.length;
        return this.count(result.value);
      }
      // Retire the session (swap-remove) and start the next one in its place.
      this.active[slot] = this.active.at(-1)!;
      this.active.pop();
      if (this.nextSession < this.options.sessions) this.active.push(this.startSession(this.nextSession++));
    }
    return undefined;
  }

  private count(step: Step): Step {
    this.produced += step.events.length;
    return step;
  }

  private startSession(index: number): Generator<Step, void, undefined> {
    const rng = this.rng.fork();
    const kind: SessionKind = rng.chance(AGENT_SHARE) ? "agent" : "chat";
    this.started[kind]++;
    // A stable, unique, realistic-looking id: the index keeps it unique, the hex makes keys hash apart.
    const id = `sess_${index.toString(36).padStart(4, "0")}${rng.int(0, 0xffffff).toString(16).padStart(6, "0")}`;
    const budget = Math.max(MIN_EVENTS_PER_SESSION, Math.round(this.meanBudget * (0.5 + rng.next())));
    const shard = this.shardFor(id);
    const stream = this.ledger.open(id, {
      ordered: true,
      label: kind,
      ...(shard === undefined ? {} : { shard }),
    });
    // Sessions start a few seconds apart on the synthetic clock, like arrivals at a gateway.
    const startTs = EPOCH_MS + index * 750 + rng.int(0, 749);
    return sessionScript({ id, kind, budget, startTs, stream, rng });
  }

  private heartbeat(): Step {
    const event: MetricsEvent = {
      type: "metrics",
      source: METRICS_SOURCE,
      seq: this.heartbeats++,
      ts: EPOCH_MS + this.produced,
      worker: this.rng.pick(WORKERS),
      activeSessions: this.active.length,
      tokensPerSecond: Math.round(this.rng.skewed(4000, 0.3)),
      p95LatencyMs: Math.round(this.rng.skewed(850, 0.4)),
    };
    // No key: the bus routes each heartbeat by a hash of its JSON text, so they spread over shards.
    return { kind: "single", stream: this.metrics, options: undefined, events: [event] };
  }
}
