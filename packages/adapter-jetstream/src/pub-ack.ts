import type { ApiErrorBody } from "./classify.js";

/** What one PubAck said. */
export type PubAck =
  | { readonly ok: true; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: ApiErrorBody }
  | undefined;

const SUCCESS_START = '{"stream":';
/** nats-server 2.9 writes `"duplicate": true` (with a space), newer ones may not: allow both. */
const DUPLICATE = /"duplicate":\s*true/;

/**
 * Parses the JSON of a PubAck without building objects on the hot path. A stored message is acked as
 * `{"stream":"S", "seq":5}`, a deduplicated one with `,"duplicate": true`, a refused one as
 * `{"error":{"code":…,"err_code":…,"description":…}}`. Only errors and unexpected shapes go through
 * `JSON.parse`. The sequence is not read: the adapter never needs it, and a JSON number above 2^53
 * would be rounded anyway. `undefined` means the reply is not a PubAck at all.
 */
export function parsePubAck(text: string): PubAck {
  if (text.startsWith(SUCCESS_START)) return DUPLICATE.test(text) ? DUPLICATE_ACK : STORED_ACK;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { error, stream, duplicate } = value as { error?: unknown; stream?: unknown; duplicate?: unknown };
  if (typeof error === "object" && error !== null) {
    const { code, err_code: errCode, description } = error as Record<string, unknown>;
    return {
      ok: false,
      error: {
        code: typeof code === "number" ? code : 0,
        ...(typeof errCode === "number" ? { err_code: errCode } : {}),
        ...(typeof description === "string" ? { description } : {}),
      },
    };
  }
  if (typeof stream === "string") return duplicate === true ? DUPLICATE_ACK : STORED_ACK;
  return undefined;
}

const STORED_ACK = Object.freeze({ ok: true as const, duplicate: false });
const DUPLICATE_ACK = Object.freeze({ ok: true as const, duplicate: true });
