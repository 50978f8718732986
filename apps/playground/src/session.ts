import type { IngestOptions } from "@netmesh/core";
import type {
  GuardrailEvent,
  GuardrailVerdict,
  SessionEndEvent,
  SessionEvent,
  SessionKind,
  SessionStartEvent,
  TokenEvent,
} from "./events.js";
import type { StreamLedger } from "./ledger.js";
import type { Prng } from "./prng.js";
import type { Step, StepKind } from "./step.js";
import {
  AGENTS,
  HOSTS,
  INPUT_POLICIES,
  MODELS,
  OUTPUT_POLICIES,
  QUERIES,
  TENANTS,
  TOKEN_DELTAS,
  TOOL_ERRORS,
  TOOL_POLICIES,
  TOOLS,
} from "./vocabulary.js";

/** Everything a session script needs to know before it starts. */
export interface SessionPlan {
  /** Session id; also the partition key and the ledger stream name. */
  readonly id: string;
  readonly kind: SessionKind;
  /** How many events the session emits, `session_start` and `session_end` included (at least 4). */
  readonly budget: number;
  /** Synthetic start time, ms since the epoch. */
  readonly startTs: number;
  readonly stream: StreamLedger;
  /** The session's own generator, so its content does not depend on how sessions interleave. */
  readonly rng: Prng;
}

/** Share of responses served from the response cache (re-sent with `prepare` + `ingestRaw`). */
const CACHE_HIT_RATE = 0.12;
/** Largest number of fragments handed over in one burst or replay step. */
export const MAX_STEP_EVENTS = 64;

/**
 * The running state of one session: hands out `seq` and synthetic time, tracks usage, and wraps
 * events into {@link Step}s. Sequence numbers are assigned here, in emission order, so a session's
 * `seq`s are exactly the order in which the bus is offered its events.
 */
class SessionState {
  seq = 0;
  ts: number;
  turn = 0;
  toolCalls = 0;
  promptTokens = 0;
  completionTokens = 0;
  cachedTokens = 0;
  /** Whether the latest prompt was blocked by the input guardrail (the session then ends "blocked"). */
  lastBlocked = false;
  readonly model: (typeof MODELS)[number];
  readonly options: IngestOptions;

  constructor(readonly plan: SessionPlan) {
    this.ts = plan.startTs;
    this.model = plan.rng.pick(MODELS);
    this.options = { key: plan.id };
  }

  /** Events the script may still emit before it must end (one is kept back for `session_end`). */
  get remaining(): number {
    return this.plan.budget - this.seq - 1;
  }

  /** Moves the synthetic clock on by `ms` and returns the new time. */
  tick(ms: number): number {
    this.ts += Math.max(0, Math.round(ms));
    return this.ts;
  }

  step(kind: StepKind, events: readonly SessionEvent[]): Step {
    return { kind, stream: this.plan.stream, options: this.options, events };
  }

  single(event: SessionEvent): Step {
    return this.step("single", [event]);
  }
}

/** A verdict: mostly allow, sometimes redact, rarely block. */
function verdict(rng: Prng, blockRate: number): GuardrailVerdict {
  const roll = rng.next();
  if (roll < blockRate) return "block";
  if (roll < blockRate + 0.06) return "redact";
  return "allow";
}

function guardrail(
  s: SessionState,
  stage: GuardrailEvent["stage"],
  policies: readonly string[],
  blockRate: number,
) {
  const { rng } = s.plan;
  const decided = verdict(rng, blockRate);
  // Scores cluster low for allowed content and high for blocked content, as classifier outputs do.
  const score = decided === "allow" ? rng.next() * 0.4 : 0.6 + rng.next() * 0.4;
  const event: GuardrailEvent = {
    type: "guardrail",
    session: s.plan.id,
    seq: s.seq++,
    ts: s.tick(rng.skewed(15, 0.5)),
    turn: s.turn,
    stage,
    policy: rng.pick(policies),
    verdict: decided,
    score: Math.round(score * 1000) / 1000,
  };
  return { step: s.single(event), verdict: decided };
}

/**
 * A streamed response of up to `wanted` fragments (fewer when the budget runs out), as bursts of
 * generated fragments, or, on a cache hit, as replayed fragments flagged `cached`.
 */
function* response(s: SessionState, wanted: number, allowCache: boolean): Generator<Step> {
  const { rng } = s.plan;
  const cached = allowCache && rng.chance(CACHE_HIT_RATE);
  const total = Math.max(0, Math.min(wanted, s.remaining));
  let index = 0;
  while (index < total) {
    // Bursts follow network reads: a handful of fragments per chunk, more when the model is fast.
    const size = Math.min(total - index, cached ? MAX_STEP_EVENTS : rng.int(4, 40));
    const events = new Array<TokenEvent>(size);
    for (let i = 0; i < size; i++) {
      const base = {
        type: "token",
        session: s.plan.id,
        seq: s.seq++,
        ts: s.tick(cached ? 1 : rng.skewed(25, 0.4)),
        turn: s.turn,
        model: s.model.name,
        index: index++,
        delta: rng.pick(TOKEN_DELTAS),
      } as const;
      events[i] = cached ? { ...base, cached: true } : base;
    }
    if (cached) s.cachedTokens += size;
    else s.completionTokens += size;
    yield s.step(cached ? "replay" : "burst", events);
  }
}

function start(s: SessionState): Step {
  const { rng } = s.plan;
  const event: SessionStartEvent = {
    type: "session_start",
    session: s.plan.id,
    seq: s.seq++,
    ts: s.ts,
    kind: s.plan.kind,
    model: s.model.name,
    user: `u-${rng.int(1, 5000).toString().padStart(4, "0")}`,
    tenant: rng.pick(TENANTS),
    systemPromptTokens: rng.int(120, 2400),
  };
  s.promptTokens += event.systemPromptTokens;
  return s.single(event);
}

function end(s: SessionState, status: SessionEndEvent["status"]): Step {
  const promptTokens = s.promptTokens;
  const completionTokens = s.completionTokens;
  const cost = (promptTokens * s.model.promptPer1k + completionTokens * s.model.completionPer1k) / 1000;
  const event: SessionEndEvent = {
    type: "session_end",
    session: s.plan.id,
    seq: s.seq++,
    ts: s.tick(5),
    status,
    turns: s.turn,
    toolCalls: s.toolCalls,
    usage: {
      promptTokens,
      completionTokens,
      cachedTokens: s.cachedTokens,
      totalTokens: promptTokens + completionTokens + s.cachedTokens,
    },
    costUsd: Math.round(cost * 1e6) / 1e6,
    durationMs: s.ts - s.plan.startTs,
  };
  return s.single(event);
}

/** A chat: prompt, input guardrail, streamed answer, output guardrail; turn after turn. */
function* chat(s: SessionState): Generator<Step> {
  const { rng } = s.plan;
  // Each turn needs at least a prompt, a verdict and a fragment or two.
  while (s.remaining >= 4) {
    s.turn++;
    const tokens = rng.int(8, 600);
    s.promptTokens += tokens;
    yield s.single({
      type: "user_message",
      session: s.plan.id,
      seq: s.seq++,
      ts: s.tick(rng.skewed(8000, 1)),
      turn: s.turn,
      chars: tokens * 4 + rng.int(0, 3),
      tokens,
    });
    const input = guardrail(s, "input", INPUT_POLICIES, 0.03);
    yield input.step;
    s.lastBlocked = input.verdict === "block";
    if (s.lastBlocked) {
      yield* response(s, rng.int(3, 8), false); // a short refusal
      continue;
    }
    // Keep one event back for the output verdict.
    yield* response(s, Math.min(Math.round(rng.skewed(40, 0.7)), s.remaining - 1), true);
    if (s.remaining > 0) yield guardrail(s, "output", OUTPUT_POLICIES, 0.01).step;
  }
}

/** Arguments of a tool call, shaped like the real thing. */
export function toolArgs(rng: Prng, name: string): Record<string, string | number | boolean> {
  switch (name) {
    case "web_search":
      return { query: rng.pick(QUERIES), top_k: rng.int(3, 10), safe: true };
    case "vector_search":
      return { index: "kb-docs-v3", query: rng.pick(QUERIES), top_k: rng.int(5, 50), min_score: 0.72 };
    case "sql_query":
      return {
        database: "analytics",
        sql: `SELECT tenant, count(*) FROM events GROUP BY 1 LIMIT ${rng.int(10, 500)}`,
      };
    case "code_exec":
      return { language: "python", lines: rng.int(3, 120), timeout_s: 30 };
    case "http_get":
      return { url: `https://${rng.pick(HOSTS)}/v1/items/${rng.int(1, 99999)}`, follow_redirects: true };
    default:
      return { path: `/workspace/src/module_${rng.int(1, 40)}.py`, max_bytes: 65536 };
  }
}

/** A multi-agent run: the lead delegates, a worker thinks, calls a tool, answers and reports back. */
function* agentRun(s: SessionState): Generator<Step> {
  const { rng } = s.plan;
  const lead = AGENTS[0]!;
  const workers = AGENTS.slice(1);
  // A tool round trip is about eight events; stop early enough to finish one cleanly.
  while (s.remaining >= 8) {
    s.turn++;
    const worker = rng.pick(workers);
    yield s.single({
      type: "agent_message",
      session: s.plan.id,
      seq: s.seq++,
      ts: s.tick(rng.skewed(300, 0.5)),
      turn: s.turn,
      from: lead,
      to: worker,
      intent: rng.chance(0.15) ? "handoff" : "delegate",
      chars: rng.int(80, 2000),
    });
    yield* response(s, Math.min(Math.round(rng.skewed(12, 0.6)), s.remaining - 6), false); // reasoning
    const name = rng.pick(TOOLS);
    const callId = `call_${s.plan.id.slice(-6)}_${s.toolCalls++}`;
    yield s.single({
      type: "tool_call",
      session: s.plan.id,
      seq: s.seq++,
      ts: s.tick(20),
      turn: s.turn,
      callId,
      agent: worker,
      name,
      args: toolArgs(rng, name),
    });
    const ok = rng.chance(0.94);
    const latencyMs = Math.round(rng.skewed(name === "code_exec" ? 1200 : 250, 0.8));
    const result = {
      type: "tool_result",
      session: s.plan.id,
      seq: s.seq++,
      ts: s.tick(latencyMs),
      turn: s.turn,
      callId,
      name,
      ok,
      latencyMs,
      bytes: ok ? Math.round(rng.skewed(4000, 1.2)) : 0,
    } as const;
    yield s.single(ok ? result : { ...result, error: rng.pick(TOOL_ERRORS) });
    s.promptTokens += result.bytes >> 2;
    if (rng.chance(0.3)) yield guardrail(s, "tool", TOOL_POLICIES, 0.02).step;
    yield* response(s, Math.min(Math.round(rng.skewed(30, 0.7)), s.remaining - 2), true); // the answer
    const critique = rng.chance(0.2);
    yield s.single({
      type: "agent_message",
      session: s.plan.id,
      seq: s.seq++,
      ts: s.tick(rng.skewed(100, 0.5)),
      turn: s.turn,
      from: worker,
      to: critique ? "critic" : lead,
      intent: critique ? "critique" : "report",
      chars: rng.int(200, 4000),
    });
  }
}

/**
 * The script of one session, as a generator of steps: `session_start`, the conversation or agent run,
 * then `session_end` with usage totals. It emits exactly `plan.budget` events when the budget is at
 * least 4, so `--events` is met closely, and every loop is bounded by that budget.
 */
export function* sessionScript(plan: SessionPlan): Generator<Step, void, undefined> {
  const s = new SessionState(plan);
  yield start(s);
  yield* plan.kind === "chat" ? chat(s) : agentRun(s);
  // Pad with one last fragment burst so the session uses its whole budget.
  if (s.remaining > 0) yield* response(s, s.remaining, false);
  yield end(s, s.lastBlocked ? "blocked" : "completed");
}
