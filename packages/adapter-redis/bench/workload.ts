/** The benchmark's events: ~200-byte LLM token-stream events, serialized before any clock starts. */

const WORDS =
  "the model streams tokens while tools and guardrails report verdicts for every agent session".split(" ");

/** One event, as text and with the partition key it is ingested under. */
export interface BenchEvent {
  readonly key: string;
  readonly json: string;
}

/** `count` token events spread over `sessions` sessions, each about 200 bytes of JSON. */
export function tokenEvents(count: number, sessions: number): BenchEvent[] {
  const events = new Array<BenchEvent>(count);
  for (let i = 0; i < count; i++) {
    const words = Array.from({ length: 12 }, (_, w) => WORDS[(i + w * 7) % WORDS.length]).join(" ");
    const session = `session-${i % sessions}`;
    const value = {
      type: "token",
      session,
      seq: Math.floor(i / sessions),
      model: "netmesh-sim-70b",
      delta: `${words} \u201c${i}\u201d`,
      finish: null,
      usage: { prompt: 512, completion: Math.floor(i / sessions) },
    };
    events[i] = { key: session, json: JSON.stringify(value) };
  }
  return events;
}
