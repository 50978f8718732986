/**
 * Word lists the workload draws from. Kept apart from the generators so the scripts read as scripts.
 * Token deltas are short, space-led fragments, the way streaming LLM APIs deliver them.
 */

/** Models, with their price per 1,000 prompt and completion tokens (USD), for the usage totals. */
export const MODELS: readonly {
  readonly name: string;
  readonly promptPer1k: number;
  readonly completionPer1k: number;
}[] = [
  { name: "gpt-4o-mini", promptPer1k: 0.00015, completionPer1k: 0.0006 },
  { name: "gpt-4o", promptPer1k: 0.0025, completionPer1k: 0.01 },
  { name: "claude-3-5-sonnet", promptPer1k: 0.003, completionPer1k: 0.015 },
  { name: "claude-3-5-haiku", promptPer1k: 0.0008, completionPer1k: 0.004 },
  { name: "llama-3.1-70b-instruct", promptPer1k: 0.00088, completionPer1k: 0.00088 },
  { name: "mistral-large", promptPer1k: 0.002, completionPer1k: 0.006 },
];

/** Fragments of a streamed response. */
export const TOKEN_DELTAS: readonly string[] = [
  " the",
  " a",
  " to",
  " of",
  " and",
  " in",
  " is",
  " that",
  " for",
  " you",
  " it",
  " can",
  " this",
  " with",
  " data",
  " model",
  " query",
  " result",
  " function",
  " return",
  " value",
  " error",
  " request",
  " response",
  " user",
  " table",
  " index",
  " we",
  " should",
  " first",
  " then",
  " because",
  " however",
  " example",
  " step",
  " check",
  " config",
  " latency",
  " cache",
  " token",
  "ing",
  "ed",
  "s",
  "ly",
  "ation",
  ",",
  ".",
  ":",
  "\n",
  "\n\n",
  " `",
  "`",
  " **",
  "**",
  " -",
  " 1",
  " 2",
  " 42",
  " API",
  " JSON",
  " SQL",
  " Python",
  " TypeScript",
  " é",
  " 👍",
];

/** Guardrail policies applied to user input. */
export const INPUT_POLICIES: readonly string[] = [
  "prompt_injection",
  "jailbreak",
  "pii",
  "toxicity",
  "topic_allowlist",
];

/** Guardrail policies applied to model output. */
export const OUTPUT_POLICIES: readonly string[] = ["pii", "toxicity", "secrets", "hallucination_grounding"];

/** Guardrail policies applied to tool output before the model sees it. */
export const TOOL_POLICIES: readonly string[] = ["prompt_injection", "secrets", "pii"];

/** Tenants and users, for a realistic spread of `session_start` fields. */
export const TENANTS: readonly string[] = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];

/** Agent roles of a multi-agent run; the first is always the lead. */
export const AGENTS: readonly string[] = ["planner", "researcher", "coder", "analyst", "critic"];

/** Search queries for the `web_search` and `vector_search` tools. */
export const QUERIES: readonly string[] = [
  "kafka vs redis streams throughput",
  "p95 latency budget for chat completions",
  "how to shard by tenant id",
  "GDPR data retention for logs",
  "retry with exponential backoff and jitter",
  "vector index recall at k=10",
  "postgres advisory locks",
  "idempotent consumers exactly once",
];

/** Hosts for the `http_get` tool. */
export const HOSTS: readonly string[] = ["api.github.com", "status.example.com", "docs.internal", "pypi.org"];

/** Tool names; `toolArgs` in session.ts knows the argument shape of each. */
export const TOOLS: readonly string[] = [
  "web_search",
  "vector_search",
  "sql_query",
  "code_exec",
  "http_get",
  "file_read",
];

/** Error messages of failed tool calls. */
export const TOOL_ERRORS: readonly string[] = [
  "timeout after 30000 ms",
  "HTTP 429 Too Many Requests",
  "permission denied",
  'syntax error at or near "FROM"',
];
