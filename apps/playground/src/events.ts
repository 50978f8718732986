/**
 * The JSON events of the playground workload: what an LLM gateway or agent runtime would emit. Every
 * session event carries its `session` id and a per-session sequence number `seq`, so the read-back
 * can check per-key order; unkeyed `metrics` heartbeats carry `source` and their own `seq` instead.
 */

/** Fields common to every session event. */
export interface SessionEventBase {
  /** The session (conversation or agent run) id; also the partition key. */
  readonly session: string;
  /** Position of the event in its session, from 0, without gaps. */
  readonly seq: number;
  /** Synthetic event time, ms since the epoch (derived from the seed, so runs are reproducible). */
  readonly ts: number;
}

/** A conversation or agent run begins. */
export interface SessionStartEvent extends SessionEventBase {
  readonly type: "session_start";
  readonly kind: SessionKind;
  readonly model: string;
  readonly user: string;
  readonly tenant: string;
  readonly systemPromptTokens: number;
}

/** The user's prompt (size only: the playground never invents user text). */
export interface UserMessageEvent extends SessionEventBase {
  readonly type: "user_message";
  readonly turn: number;
  readonly chars: number;
  readonly tokens: number;
}

/** One streamed fragment of a model response. */
export interface TokenEvent extends SessionEventBase {
  readonly type: "token";
  readonly turn: number;
  readonly model: string;
  /** Position of the fragment in its response, from 0. */
  readonly index: number;
  readonly delta: string;
  /** Present (true) when the fragment is re-sent from the response cache rather than generated. */
  readonly cached?: true;
}

/** The model asked for a tool. */
export interface ToolCallEvent extends SessionEventBase {
  readonly type: "tool_call";
  readonly turn: number;
  readonly callId: string;
  readonly agent: string;
  readonly name: string;
  readonly args: Readonly<Record<string, string | number | boolean>>;
}

/** A tool answered (or failed). */
export interface ToolResultEvent extends SessionEventBase {
  readonly type: "tool_result";
  readonly turn: number;
  readonly callId: string;
  readonly name: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly bytes: number;
  readonly error?: string;
}

/** The verdict of a guardrail policy on an input or output. */
export interface GuardrailEvent extends SessionEventBase {
  readonly type: "guardrail";
  readonly turn: number;
  readonly stage: "input" | "output" | "tool";
  readonly policy: string;
  readonly verdict: GuardrailVerdict;
  readonly score: number;
}

/** A message between two agents of a multi-agent run. */
export interface AgentMessageEvent extends SessionEventBase {
  readonly type: "agent_message";
  readonly turn: number;
  readonly from: string;
  readonly to: string;
  readonly intent: "delegate" | "report" | "critique" | "handoff";
  readonly chars: number;
}

/** A session is over; `usage` totals what it consumed. */
export interface SessionEndEvent extends SessionEventBase {
  readonly type: "session_end";
  readonly status: "completed" | "blocked";
  readonly turns: number;
  readonly toolCalls: number;
  readonly usage: {
    readonly promptTokens: number;
    readonly completionTokens: number;
    readonly cachedTokens: number;
    readonly totalTokens: number;
  };
  readonly costUsd: number;
  readonly durationMs: number;
}

/** A periodic, unkeyed gateway heartbeat: routed by a hash of its content, in no particular order. */
export interface MetricsEvent {
  readonly type: "metrics";
  readonly source: typeof METRICS_SOURCE;
  /** Position among all heartbeats of the run, from 0, without gaps. */
  readonly seq: number;
  readonly ts: number;
  readonly worker: string;
  readonly activeSessions: number;
  readonly tokensPerSecond: number;
  readonly p95LatencyMs: number;
}

/** The `source` of the metrics heartbeats, which is also the name of their ledger stream. */
export const METRICS_SOURCE = "gateway-metrics";

/** A conversation with a model, or a multi-agent run with tools. */
export type SessionKind = "chat" | "agent";

/** What a guardrail decided. */
export type GuardrailVerdict = "allow" | "block" | "redact";

/** Any event of a session. */
export type SessionEvent =
  | SessionStartEvent
  | UserMessageEvent
  | TokenEvent
  | ToolCallEvent
  | ToolResultEvent
  | GuardrailEvent
  | AgentMessageEvent
  | SessionEndEvent;

/** Any event the workload emits. */
export type PlaygroundEvent = SessionEvent | MetricsEvent;

/** The `type` of any playground event. */
export type EventType = PlaygroundEvent["type"];
