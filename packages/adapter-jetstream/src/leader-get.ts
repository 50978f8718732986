import { MsgHdrsImpl, type Msg, type NatsConnection } from "@nats-io/nats-core";
import { TransientError } from "@netmesh/core/adapter";
import {
  API_CODES,
  type ApiErrorBody,
  StreamGoneError,
  UnavailableError,
  classifyApiError,
} from "./classify.js";
import { parseSequence } from "./cursor.js";
import type { Entry } from "./record.js";
import type { ReplyMux } from "./reply-mux.js";
import { type WindowReplies, requestWindow } from "./window-gets.js";

/** What {@link leaderWindow} needs. */
export interface LeaderGetContext {
  readonly connection: NatsConnection;
  readonly mux: ReplyMux;
  readonly timeoutMs: number;
  /** The stream's name and its shard subject. */
  readonly stream: string;
  readonly subject: string;
}

const decoder = new TextDecoder();
/** The stored message's sequence, read from the reply's text: a JSON number above 2^53 would be rounded. */
const SEQ = /"seq":\s*(\d+)/;

/**
 * One reply of `$JS.API.STREAM.MSG.GET` ("next message of the subject at or after s"): the message, or
 * `null` when there is none. Throws what the reply says otherwise (a missing stream, an API error).
 */
export function parseLeaderReply(msg: Msg, what: string): Entry | null {
  const code = msg.headers?.code ?? 0;
  if (msg.data.length === 0 && code !== 0) {
    if (code === 503) throw new UnavailableError(`${what}: no responders (JetStream starting or electing)`);
    throw new TransientError(`${what}: status ${code} ${msg.headers?.description ?? ""}`);
  }
  const text = decoder.decode(msg.data);
  let body: { error?: ApiErrorBody; message?: { hdrs?: unknown; data?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new TransientError(`${what}: the reply is not JSON`);
  }
  if (body.error !== undefined) {
    const { error } = body;
    if (error.err_code === API_CODES.messageNotFound) return null;
    if (error.err_code === API_CODES.streamNotFound) throw new StreamGoneError(`${what}: the stream is gone`);
    throw classifyApiError(error, what);
  }
  const message = body.message;
  const digits = SEQ.exec(text.slice(text.indexOf('"message"')))?.[1];
  const sequence = parseSequence(digits);
  if (message === undefined || digits === undefined || sequence === undefined) {
    throw new TransientError(`${what}: the reply holds no message with a valid sequence`);
  }
  const data = typeof message.data === "string" ? Buffer.from(message.data, "base64") : new Uint8Array(0);
  const headers =
    typeof message.hdrs === "string" ? MsgHdrsImpl.decode(Buffer.from(message.hdrs, "base64")) : undefined;
  return { sequence, id: digits, msg: { headers, data } };
}

/** A leader get's reply: "not now" (no leader, JetStream starting) counts as no reply, so the read asks again. */
const LEADER_REPLIES = (what: string): WindowReplies => ({
  parse: (msg) => parseLeaderReply(msg, what),
  isNoReply: (error) => error instanceof UnavailableError,
});

/**
 * Asks the stream's **leader**, for each sequence of `from`, for the first message of the shard's
 * subject at or after it, all at once: `$JS.API.STREAM.MSG.GET`, which in a cluster only the stream
 * leader answers, unlike a direct get, which any current replica answers (one that lags, or one that
 * stopped answering). The leader has stored every write it acknowledged, so its answers see every write
 * acknowledged before they were asked. Resolves the replies in request order (`null`: no message,
 * `undefined`: no reply within `patienceMs` of silence).
 */
export function leaderWindow(
  context: LeaderGetContext,
  from: readonly bigint[],
  patienceMs: number,
): Promise<(Entry | null | undefined)[]> {
  const { stream } = context;
  const what = `get messages of ${stream} from its leader`;
  const target = { ...context, api: `$JS.API.STREAM.MSG.GET.${stream}`, what };
  return requestWindow(target, from, patienceMs, context.timeoutMs, LEADER_REPLIES(what));
}

/**
 * The leader's first message at or after `from` (see {@link leaderWindow}), `undefined` when there is
 * none. Asked again, with doubled patience, while it goes unanswered; fails after `timeoutMs`.
 */
export async function leaderNext(
  context: LeaderGetContext,
  from: bigint,
  patienceMs: number,
): Promise<Entry | undefined> {
  const started = Date.now();
  for (let patience = patienceMs; ; patience *= 2) {
    const left = context.timeoutMs - (Date.now() - started);
    if (left <= 0) {
      throw new TransientError(
        `the leader of ${context.stream} left a get unanswered for ${context.timeoutMs} ms`,
      );
    }
    const [entry] = await leaderWindow({ ...context, timeoutMs: left }, [from], Math.min(patience, left));
    if (entry !== undefined) return entry ?? undefined;
  }
}
