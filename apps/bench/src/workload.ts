/** Realistic ~200-byte LLM token-stream events, built before any clock starts. */

const WORDS =
  "the model streams tokens while tools and guardrails report verdicts for every agent session".split(" ");

/** One token event of a streamed completion. */
export interface TokenEvent {
  type: "token";
  session: string;
  seq: number;
  model: string;
  delta: string;
  finish: null;
  usage: { prompt: number; completion: number };
}

/** `count` token events spread over `sessions` sessions, each about 200 bytes of JSON. */
export function tokenEvents(count: number, sessions: number): TokenEvent[] {
  const events = new Array<TokenEvent>(count);
  for (let i = 0; i < count; i++) {
    const words = Array.from({ length: 12 }, (_, w) => WORDS[(i + w * 7) % WORDS.length]).join(" ");
    events[i] = {
      type: "token",
      session: `session-${i % sessions}`,
      seq: Math.floor(i / sessions),
      model: "netmesh-sim-70b",
      delta: `${words} \u201c${i}\u201d`,
      finish: null,
      usage: { prompt: 512, completion: Math.floor(i / sessions) },
    };
  }
  return events;
}
