import { type Msg, type NatsConnection, nuid } from "@nats-io/nats-core";
import { FatalError, type Logger, type ShardPage, type StoredEvent } from "@netmesh/core/adapter";
import { API_CODES, type ApiErrorBody, classifyApiError, classifyClientError } from "./classify.js";
import { type LinkState, pause } from "./connection.js";
import { MAX_SEQUENCE } from "./cursor.js";
import { parseDelivery } from "./delivery.js";
import { decodeRecord } from "./record.js";

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
}

/** How long one pull request waits on the server for messages, ms. */
const PULL_EXPIRES_MS = 5_000;
/** Most messages one pull request asks for. */
const MAX_PULL_BATCH = 512;
/**
 * Pull requests open at once. The next pull is sent once what is asked for falls to half a pull, so
 * the server always has a request to deliver into while the reader works on what came (one pull at a
 * time left a round trip between pulls); a follower holds at most two pulls' worth unread.
 */
const MAX_OPEN_PULLS = 2;
/** The server deletes a consumer nobody pulled from for this long (a follower that vanished), ms. */
const INACTIVE_THRESHOLD_MS = 30_000;
/** Pauses between attempts to create the consumer (stream not there yet, JetStream not answering). */
const RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1_000];
const NANOS_PER_MS = 1_000_000;
const FOREVER_MS = 2 ** 31 - 1;

const decoder = new TextDecoder();

/**
 * Creates an ephemeral pull consumer on the shard's stream that starts at `start`, acks nothing and
 * lives in memory (the follower keeps the cursor; the consumer is only a pipe). The sequence is
 * written from the bigint's digits. A missing stream (a shard not written yet) or a JetStream that
 * does not answer is waited out; resolves `undefined` once `signal` aborts.
 */
async function createConsumer(
  context: FollowContext,
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
      const reply = await context.connection.request(`$JS.API.CONSUMER.CREATE.${stream}`, body, {
        timeout: context.timeoutMs,
      });
      const answer = JSON.parse(decoder.decode(reply.data)) as { name?: unknown; error?: ApiErrorBody };
      if (typeof answer.name === "string") return answer.name;
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
 * to 5 s on the server, the next one sent when what is asked for falls to half a pull (two open at most). Every batch of messages that arrived
 * together becomes one page, decoded exactly as `pollShard` decodes (corrupt records skipped, a
 * misrouted one ends the iteration with a `FatalError` after the page before it).
 *
 * The consumer is a pipe, the cursor stays here: after a reconnect, a gap in the delivery sequence (a
 * message lost on the way), a consumer deleted by the server, or a pull that went unanswered, the
 * consumer is made again from the last sequence seen plus one. Ends (returns) once `signal` aborts.
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
  const subscription = connection.subscribe(`${inbox}.*`, {
    callback: (error, msg) => {
      if (error !== null) subscriptionError = error;
      else queue.push(msg);
      notify();
    },
  });
  let reset = false;
  const offRestored = context.link.onRestored(() => {
    reset = true; // pulls sent before the disconnect are gone: start a fresh consumer
    notify();
  });
  signal.addEventListener("abort", notify);
  const batch = Math.min(limit, MAX_PULL_BATCH);
  let consumer: string | undefined;
  let delivered = 0;
  let pullCount = 0;
  /** The open pull requests, oldest first: the server fills them in that order. */
  const pulls: { subject: string; remaining: number; deadline: number }[] = [];
  const asked = () => {
    let sum = 0;
    for (const open of pulls) sum += open.remaining;
    return sum;
  };
  let backOff = false;
  let last = after;
  try {
    while (!signal.aborted) {
      if (subscriptionError !== undefined) throw classifyClientError(subscriptionError, `follow ${stream}`);
      if (consumer === undefined || reset) {
        if (consumer !== undefined) dropConsumer(context, consumer);
        if (backOff && !(await pause(RETRY_DELAYS_MS[2]!, [signal]))) return;
        reset = false;
        backOff = false;
        pulls.length = 0;
        queue.length = 0;
        head = 0;
        consumer = await createConsumer(context, last + 1n, signal);
        if (consumer === undefined) return;
        delivered = 0;
      }
      if (pulls.length === 0 || (pulls.length < MAX_OPEN_PULLS && asked() * 2 <= batch)) {
        if (pulls.length === 0 && backOff && !(await pause(RETRY_DELAYS_MS[2]!, [signal]))) return;
        backOff = false;
        const pull = {
          subject: `${inbox}.${++pullCount}`,
          remaining: batch,
          deadline: Date.now() + PULL_EXPIRES_MS + context.timeoutMs,
        };
        pulls.push(pull);
        connection.publish(
          `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
          `{"batch":${batch},"expires":${PULL_EXPIRES_MS * NANOS_PER_MS}}`,
          { reply: pull.subject },
        );
      }
      if (head === queue.length) {
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
        });
        const oldest = pulls[0]!;
        const timer = setTimeout(notify, Math.max(1, oldest.deadline - Date.now()));
        await woken;
        clearTimeout(timer);
        if (head === queue.length && !reset && pulls[0] === oldest && Date.now() >= oldest.deadline) {
          reset = true; // the pull went unanswered: the consumer is gone (inactive, server restarted)
          backOff = true;
        }
        continue;
      }
      const events: StoredEvent[] = [];
      let nextId: string | undefined;
      let pending = 0;
      let fatal: FatalError | undefined;
      while (head < queue.length && events.length < limit && !reset) {
        const msg = queue[head++]!;
        if (msg.data.length === 0 && msg.headers?.code !== undefined && msg.headers.code > 0) {
          // A status for a pull: only the open pulls' count.
          const at = pulls.findIndex((open) => open.subject === msg.subject);
          if (at === -1) continue;
          const code = msg.headers.code;
          if (code === 100) continue; // idle heartbeat
          pulls.splice(at, 1); // 404/408: expired or done; 409: refused or the consumer deleted; 503: gone
          if (code === 409 && /consumer deleted/i.test(msg.headers.description)) reset = true;
          else if (code === 503) reset = true;
          if (code !== 404 && code !== 408) backOff = true;
          continue;
        }
        const delivery = parseDelivery(msg.reply);
        if (delivery === undefined) {
          logger.warn(
            { adapter: "jetstream", stream },
            "follow: a message without a JetStream delivery subject",
          );
          continue;
        }
        if (delivery.consumer !== consumer) continue; // from a consumer replaced since
        if (delivery.consumerSequence !== delivered + 1) {
          reset = true; // a message was lost on the way: start again after the last one seen
          break;
        }
        delivered = delivery.consumerSequence;
        const filling = pulls[0];
        if (filling !== undefined && --filling.remaining === 0) pulls.shift();
        const sequence = BigInt(delivery.streamSequence);
        if (sequence <= last) continue;
        const record = decodeRecord(msg, shard, delivery.streamSequence);
        if (record.kind === "fatal") {
          logger.error(
            { adapter: "jetstream", stream, sequence: delivery.streamSequence, reason: record.reason },
            "stopping the read at a record that cannot be delivered",
          );
          fatal = new FatalError(`stream ${stream} sequence ${delivery.streamSequence}: ${record.reason}`);
          break;
        }
        if (record.kind === "event") events.push(record.event);
        else {
          logger.warn(
            { adapter: "jetstream", stream, sequence: delivery.streamSequence, reason: record.reason },
            "skipping a corrupt record",
          );
        }
        last = sequence;
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
  } finally {
    signal.removeEventListener("abort", notify);
    offRestored();
    try {
      subscription.unsubscribe();
    } catch {
      // The connection is closing or closed: the subscription goes with it.
    }
    if (consumer !== undefined) dropConsumer(context, consumer);
  }
}
