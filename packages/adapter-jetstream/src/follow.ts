import { type Msg, type NatsConnection, type Subscription, nuid } from "@nats-io/nats-core";
import {
  type AdapterError,
  FatalError,
  type Logger,
  type ShardPage,
  type StoredEvent,
} from "@netmesh/core/adapter";
import { API_CODES, type ApiErrorBody, classifyApiError, classifyClientError } from "./classify.js";
import { type LinkState, pause } from "./connection.js";
import { MAX_SEQUENCE, isAfterSequence } from "./cursor.js";
import { type MutableDelivery, parseDeliveryInto } from "./delivery.js";
import { FollowPulls, pullRequestBody } from "./follow-pulls.js";
import { RecordFault, decodeRecord } from "./record.js";
import type { ReplyMux } from "./reply-mux.js";
import { deliveredSequenceIn, streamReset } from "./stream-reset.js";

export { type Delivery, parseDelivery } from "./delivery.js";

/** What {@link followShard} needs. */
export interface FollowContext {
  readonly connection: NatsConnection;
  readonly link: LinkState;
  readonly logger: Logger;
  /** Prefix of the follower's reply subjects. */
  readonly inboxPrefix: string;
  /** The shard's stream and subject. */
  readonly stream: string;
  readonly subject: string;
  /** Bound on one API request (creating the consumer), ms. */
  readonly timeoutMs: number;
  /** Tells of pulls the server refused (a permission violation), which have no reply to fail. */
  readonly refusals: Pick<ReplyMux, "watchRefusals">;
  /** The stream's last sequence, by a fresh lookup (`StreamRegistry.lastSequence`). */
  readonly lastSequence: () => Promise<bigint | undefined>;
}

/** Most messages one pull request asks for. */
const MAX_PULL_BATCH = 512;
/** The server deletes a consumer nobody pulled from for this long (a follower that vanished), ms. */
const INACTIVE_THRESHOLD_MS = 30_000;
/** Pauses between attempts to create the consumer (stream not there yet, JetStream not answering). */
const RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1_000];
const NANOS_PER_MS = 1_000_000;
/** The consumer's delivery sequence in an idle heartbeat: what it has sent so far. */
const LAST_CONSUMER_HEADER = "Nats-Last-Consumer";
/** The messages a pull was still owed when a status ended it. */
const PENDING_HEADER = "Nats-Pending-Messages";
const FOREVER_MS = 2 ** 31 - 1;

const decoder = new TextDecoder();

/**
 * Creates an ephemeral pull consumer on the shard's stream that starts at `start`, acks nothing and
 * lives in memory (the follower keeps the cursor; the consumer is only a pipe). The sequence is
 * written from the bigint's digits. A missing stream (a shard not written yet) or a JetStream that
 * does not answer is waited out; resolves `undefined` once `signal` aborts. Rejects with a
 * `StreamResetError` when the stream ends before `start - 1` (deleted and created again since).
 */
async function createConsumer(
  context: FollowContext,
  shard: number,
  start: bigint,
  signal: AbortSignal,
): Promise<string | undefined> {
  const { stream, subject } = context;
  const body =
    `{"stream_name":${JSON.stringify(stream)},"config":{"deliver_policy":"by_start_sequence",` +
    `"opt_start_seq":${start.toString()},"ack_policy":"none","replay_policy":"instant",` +
    `"filter_subject":${JSON.stringify(subject)},"inactive_threshold":${INACTIVE_THRESHOLD_MS * NANOS_PER_MS},` +
    `"mem_storage":true,"num_replicas":1}}`;
  for (let attempt = 0; ; attempt++) {
    if (!(await context.link.waitUntilUp(FOREVER_MS, [signal]))) return undefined;
    try {
      const request = context.connection.request(`$JS.API.CONSUMER.CREATE.${stream}`, body, {
        timeout: context.timeoutMs,
      });
      // The iteration ends at once on abort, not when an unanswered request times out.
      const reply = await unlessAborted(request, signal);
      if (reply === undefined) {
        request.then((late) => dropCreated(context, late), () => {});
        return undefined;
      }
      const text = decoder.decode(reply.data);
      const answer = JSON.parse(text) as { name?: unknown; error?: ApiErrorBody };
      if (typeof answer.name === "string") {
        // Asked to start beyond the stream's end, a consumer starts at the end of the stream as its
        // server has it: the stream was created again since the cursor, or that server is a replica
        // that lags. The stream's own state (its leader's) tells; unknown, the consumer serves anyway.
        const delivered = deliveredSequenceIn(text);
        if (delivered === undefined || delivered >= start - 1n) return answer.name;
        // Unknown (the lookup failed), the consumer serves: a reset is only claimed on the stream's word.
        const last = await context.lastSequence().catch(() => undefined);
        if (last === undefined || last >= start - 1n) return answer.name;
        dropConsumer(context, answer.name);
        throw streamReset(context.logger, { stream, shard }, start - 1n, last);
      }
      const error = answer.error;
      const waitable =
        error === undefined || error.code === 503 || error.err_code === API_CODES.streamNotFound;
      if (!waitable) throw classifyApiError(error, `create a consumer to follow ${stream}`);
    } catch (error) {
      const classified = classifyClientError(error, `create a consumer to follow ${stream}`);
      if (!classified.isRetryable) throw classified;
    }
    const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
    if (!(await pause(delay, [signal]))) return undefined;
  }
}

/** `work`'s result, or `undefined` as soon as `signal` aborts (`work` then settles unobserved). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Deletes the consumer a creation answered after the follower stopped waiting for it. */
function dropCreated(context: FollowContext, reply: Msg): void {
  try {
    const { name } = JSON.parse(decoder.decode(reply.data)) as { name?: unknown };
    if (typeof name === "string") dropConsumer(context, name);
  } catch {
    // Not a consumer's description: nothing was created.
  }
}

/** Deletes a consumer without waiting (the server would drop it after its inactive threshold anyway). */
function dropConsumer(context: FollowContext, consumer: string): void {
  if (context.connection.isClosed() || !context.link.connected) return;
  try {
    context.connection
      .request(`$JS.API.CONSUMER.DELETE.${context.stream}.${consumer}`, "", { timeout: context.timeoutMs })
      .catch(() => {});
  } catch {
    // The connection is closing: the consumer goes after its inactive threshold.
  }
}

/**
 * Follows a shard from sequence `after` (exclusive): an ephemeral pull consumer starting at `after + 1`
 * pushes messages as they are stored, into pulls of at most `min(limit, 512)` messages each waiting up
 * to 5 s on the server with idle heartbeats (see `follow-pulls.ts`); the next pull is sent once half a
 * pull or less is owed, and a waiting pull is renewed before it expires. Every batch of messages that
 * arrived together becomes one page, decoded exactly as `pollShard` decodes (corrupt records skipped, a
 * misrouted one ends the iteration with a `FatalError` after the page before it).
 *
 * The consumer is a pipe, the cursor stays here: after a reconnect, a gap in the delivery sequence (a
 * message lost on the way, also told by a heartbeat naming a delivery not seen), or a consumer deleted
 * by the server, the consumer is made again from the last sequence seen plus one. Silence while pulls
 * are owed messages (no message, no heartbeat) means the server dropped them: the follower pulls
 * afresh, and makes a new consumer when that goes unanswered too. Ends (returns) once `signal` aborts.
 */
export async function* followShard(
  context: FollowContext,
  shard: number,
  after: bigint,
  signal: AbortSignal,
  limit: number,
): AsyncGenerator<ShardPage> {
  if (after === MAX_SEQUENCE) {
    await pause(FOREVER_MS, [signal]); // nothing can follow the last possible sequence
    return;
  }
  const { connection, stream, logger } = context;
  const inbox = `${context.inboxPrefix}.${nuid.next()}`;
  const queue: Msg[] = [];
  let head = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  let subscriptionError: unknown;
  let subscription: Subscription | undefined;
  let reset = false;
  let refused: AdapterError | undefined;
  const offRefused = context.refusals.watchRefusals(`$JS.API.CONSUMER.MSG.NEXT.${stream}.`, (error) => {
    refused = error;
    notify();
  });
  const offRestored = context.link.onRestored(() => {
    reset = true; // pulls sent before the disconnect are gone: start a fresh consumer
    notify();
  });
  signal.addEventListener("abort", notify);
  const batch = Math.min(limit, MAX_PULL_BATCH);
  const request = pullRequestBody(batch);
  const pulls = new FollowPulls(inbox, batch);
  let consumer: string | undefined;
  let delivered = 0;
  let backOff = false;
  /** Silences in a row that a fresh pull did not end: the consumer itself is gone. */
  let silences = 0;
  /** The last sequence seen, as the server's digits (compared as text: no bigint per message). */
  let last = after.toString();
  /** The delivery being read (one object, filled per message). */
  const delivery: MutableDelivery = { consumer: "", streamSequence: "", consumerSequence: 0, pending: 0 };
  try {
    subscription = connection.subscribe(`${inbox}.*`, {
      callback: (error, msg) => {
        if (error !== null) subscriptionError = error;
        else queue.push(msg);
        notify();
      },
    });
    while (!signal.aborted) {
      if (subscriptionError !== undefined) throw classifyClientError(subscriptionError, `follow ${stream}`);
      if (refused !== undefined) throw refused;
      if (consumer === undefined || reset) {
        if (consumer !== undefined) dropConsumer(context, consumer);
        if (backOff && !(await pause(RETRY_DELAYS_MS[2]!, [signal]))) return;
        reset = false;
        backOff = false;
        silences = 0;
        pulls.clear();
        queue.length = 0;
        head = 0;
        consumer = await createConsumer(context, shard, BigInt(last) + 1n, signal);
        if (consumer === undefined) return;
        delivered = 0;
      }
      let now = Date.now();
      pulls.expire(now);
      if (pulls.due(now)) {
        if (pulls.asked === 0 && backOff && !(await pause(RETRY_DELAYS_MS[2]!, [signal]))) return;
        backOff = false;
        now = Date.now();
        connection.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, request, {
          reply: pulls.send(now),
        });
      }
      if (head === queue.length) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        const wait = pulls.nextCheck() - now;
        const timer = wait < FOREVER_MS ? setTimeout(notify, Math.max(1, wait)) : undefined;
        await woken;
        clearTimeout(timer);
        if (head < queue.length || reset) continue;
        if (pulls.silent(Date.now())) {
          // The server holds none of the pulls it owes messages to (it dropped one without a status,
          // or lost the consumer): pull afresh, and once that goes unanswered too, make a new consumer.
          if (++silences > 1) {
            reset = true;
            backOff = true;
          }
          pulls.clear();
        }
        continue;
      }
      pulls.heard(now);
      silences = 0;
      const events: StoredEvent[] = [];
      let nextId: string | undefined;
      let pending = 0;
      let fatal: FatalError | undefined;
      while (head < queue.length && events.length < limit && !reset) {
        const msg = queue[head++]!;
        const reply = msg.reply;
        if (!parseDeliveryInto(reply, delivery)) {
          // A status for a pull carries no reply; anything else here is not the consumer's.
          const code = msg.data.length === 0 ? (msg.headers?.code ?? 0) : 0;
          if (code === 0) {
            logger.warn(
              { adapter: "jetstream", stream },
              "follow: a message without a JetStream delivery subject",
            );
            continue;
          }
          if (code === 100) {
            // An idle heartbeat names the last delivery sent: one not seen here was lost on the way.
            if (!pulls.isCounted(msg.subject)) continue;
            const sent = Number(msg.headers!.get(LAST_CONSUMER_HEADER));
            if (Number.isSafeInteger(sent) && sent > delivered) reset = true;
            continue;
          }
          // 408: expired; 409: refused, released, or the consumer deleted; 503: no consumer listens.
          const pendingText = msg.headers!.get(PENDING_HEADER);
          if (!pulls.ended(msg.subject, pendingText === "" ? undefined : pendingText)) continue;
          if (code === 409 && /consumer deleted/i.test(msg.headers!.description)) reset = true;
          else if (code === 503) reset = true;
          if (code !== 404 && code !== 408) backOff = true;
          continue;
        }
        if (delivery.consumer !== consumer) continue; // from a consumer replaced since
        if (delivery.consumerSequence !== delivered + 1) {
          reset = true; // a message was lost on the way: start again after the last one seen
          break;
        }
        delivered = delivery.consumerSequence;
        pulls.delivered();
        if (!isAfterSequence(delivery.streamSequence, last)) continue;
        const record = decodeRecord(msg, shard, delivery.streamSequence);
        if (record instanceof RecordFault && record.kind === "fatal") {
          logger.error(
            { adapter: "jetstream", stream, sequence: delivery.streamSequence, reason: record.reason },
            "stopping the read at a record that cannot be delivered",
          );
          fatal = new FatalError(`stream ${stream} sequence ${delivery.streamSequence}: ${record.reason}`);
          break;
        }
        if (!(record instanceof RecordFault)) events.push(record);
        else {
          logger.warn(
            { adapter: "jetstream", stream, sequence: delivery.streamSequence, reason: record.reason },
            "skipping a corrupt record",
          );
        }
        last = delivery.streamSequence;
        nextId = delivery.streamSequence;
        pending = delivery.pending;
      }
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
      }
      if (nextId !== undefined) yield { events, nextId, hasMore: pending > 0 || head < queue.length };
      if (fatal !== undefined) throw fatal;
    }
  } catch (error) {
    // The client throws its own errors (a closed connection) from subscribe and publish.
    throw classifyClientError(error, `follow ${stream}`);
  } finally {
    signal.removeEventListener("abort", notify);
    offRefused();
    offRestored();
    try {
      subscription?.unsubscribe();
    } catch {
      // The connection is closing or closed: the subscription goes with it.
    }
    if (consumer !== undefined) dropConsumer(context, consumer);
  }
}
