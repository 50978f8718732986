import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import {
  type AdapterError,
  AdapterShutdownError,
  type Batch,
  type BatchResult,
  ConnectionError,
  FatalError,
  type Logger,
  MAX_SHARD_ID,
  TransientError,
  isRetryableAdapterError,
} from "@netmesh/core/adapter";
import { classifyClientError, describe, isOutage } from "./classify.js";
import { type LinkState, pause } from "./connection.js";
import { MAX_HEADER_BYTES } from "./headers.js";
import { shardSubject, streamName } from "./naming.js";
import type { ResolvedOptions } from "./options.js";
import { type PayloadEncoder, narrowBatch, prepareBatch } from "./payloads.js";
import { NoRespondersReply, type WindowResult, publishWindow } from "./publish.js";
import type { ReplyMux } from "./reply-mux.js";
import type { ReadSessions } from "./read-sessions.js";
import { scrubbedCopy } from "./redaction.js";
import type { StreamRegistry } from "./streams.js";

/** Everything that lives from a successful `init` to `shutdown`. */
export interface Session {
  readonly connection: NatsConnection;
  /** True when the adapter opened the connection (and so drains or closes it at shutdown). */
  readonly owned: boolean;
  readonly link: LinkState;
  readonly manager: JetStreamManager;
  readonly mux: ReplyMux;
  readonly streams: StreamRegistry;
  /** Consumer sessions of reads that page through a shard. */
  readonly reads: ReadSessions;
}

/** What {@link writeBatch} needs from the adapter. */
export interface WriteContext {
  readonly session: Session;
  readonly options: ResolvedOptions;
  readonly encoder: PayloadEncoder;
  readonly logger: Logger;
  /** Aborted when the adapter shuts down. */
  readonly shutdownSignal: AbortSignal;
  /** The declared limit (`capabilities.maxEventBytes`). */
  readonly maxEventBytes: number;
  /** How long the call may wait out an outage, ms. */
  readonly waitMs: number;
  /** Called with the acks of each window stored. */
  readonly counted: (window: WindowResult) => void;
}

/** One call's bounds: its signal and the end of its outage budget. */
interface Attempt {
  readonly signal: AbortSignal;
  readonly deadline: number;
}

/** Pauses between the rounds of a write waiting for JetStream to answer again, ms. */
const OUTAGE_PAUSES_MS = [50, 100, 200, 400, 500];

/**
 * Publishes a batch: refuses the events that cannot be stored on their own (`tooLarge`, `invalidText`;
 * contract rule 2), creates the shard's stream on first use, publishes the rest in order in windows of
 * `maxAckPending` and awaits each window's acks. Resolves when every event not refused is stored (or
 * acked as a duplicate), naming the refused ones.
 *
 * An outage is waited out within the call instead of failing it: while the connection is down the
 * call waits for the reconnect, and a window whose acks were lost to a disconnect, or that found no
 * stream listening while JetStream recovers, is published again (the server's dedup by message id
 * makes that safe). The wait ends at `waitMs`, when the call's signal aborts (the bus's attempt
 * timeout), or at shutdown; then the call fails with a retryable error (or `AdapterShutdownError`).
 */
export async function writeBatch(
  context: WriteContext,
  batch: Batch,
  signal: AbortSignal,
): Promise<BatchResult | undefined> {
  const { session, options } = context;
  if (batch.size === 0) return undefined;
  const shard = batch.shard;
  if (!Number.isInteger(shard) || shard < 0 || shard > MAX_SHARD_ID) {
    throw new FatalError(`shard must be an integer in [0, ${MAX_SHARD_ID}], got ${String(shard)}`);
  }
  // The server we are connected to now may take less than the one `init` asked (a failover).
  let prepared = prepareBatch(batch, eventLimit(context));
  if (prepared.count === 0) return { rejected: prepared.rejected };
  const attempt: Attempt = { signal, deadline: Date.now() + context.waitMs };
  await waitingOut(context, attempt, () => session.streams.ensure(shard));
  const subject = shardSubject(options.prefix, shard);
  const publishing = {
    connection: session.connection,
    mux: session.mux,
    timeoutMs: options.requestTimeoutMs,
    signal,
    encoder: context.encoder,
  };
  const { streams } = session;
  for (let from = 0; from < prepared.count; ) {
    const window = await waitingOut(context, attempt, async () => {
      // A reconnect since the batch was prepared may have landed on a server that takes less: the
      // events not published yet that no longer fit are refused alone, as the first check would have.
      const limit = eventLimit(context);
      if (limit < prepared.limit) prepared = narrowBatch(prepared, from, limit);
      if (from >= prepared.count) return { stored: 0, duplicates: 0, to: from };
      // Until the stream is known to listen, one event goes alone (see `StreamRegistry.listening`).
      const to = streams.isListening(shard)
        ? Math.min(prepared.count, from + options.maxAckPending)
        : from + 1;
      try {
        const acked = await publishWindow(publishing, subject, batch, prepared, from, to);
        streams.heard(shard);
        return { ...acked, to };
      } catch (error) {
        if (error instanceof NoRespondersReply) streams.unheard(shard);
        throw await explain(context, shard, error);
      }
    });
    context.counted(window);
    from = window.to;
  }
  return prepared.rejected.length === 0 ? undefined : { rejected: prepared.rejected };
}

/**
 * The most bytes of an event the server connected now takes: the declared limit, or less when a
 * reconnect landed on a server with a smaller `max_payload` than the one `init` asked.
 */
function eventLimit(context: WriteContext): number {
  const maxPayload = context.session.connection.info?.max_payload ?? Number.POSITIVE_INFINITY;
  return Math.min(context.maxEventBytes, maxPayload - MAX_HEADER_BYTES);
}

/**
 * Runs `work`, and again while it fails by an outage (see `isOutage`): first waiting for the
 * connection to come back, or pausing while JetStream does not answer. Stops at the attempt's deadline,
 * when its signal aborts, or at shutdown.
 */
async function waitingOut<T>(context: WriteContext, attempt: Attempt, work: () => Promise<T>): Promise<T> {
  const { link } = context.session;
  const signals = [attempt.signal, context.shutdownSignal];
  for (let round = 0; ; round++) {
    if (!(await link.waitUntilUp(attempt.deadline - Date.now(), signals))) {
      throw (
        interruption(context, attempt.signal) ??
        new ConnectionError(`not connected to NATS: no reconnect within ${context.waitMs} ms`)
      );
    }
    try {
      return await work();
    } catch (error) {
      const interrupted = interruption(context, attempt.signal);
      if (interrupted !== undefined) throw interrupted;
      // Anything retryable that failed while the connection was down (a request timed out) counts too.
      const outage = isOutage(error) || (!link.connected && isRetryableAdapterError(error));
      if (!outage || Date.now() >= attempt.deadline) throw error;
      // A lost connection is waited for above; JetStream not answering gets a growing pause.
      const delay = link.connected ? OUTAGE_PAUSES_MS[Math.min(round, OUTAGE_PAUSES_MS.length - 1)]! : 0;
      context.logger.debug(
        { adapter: "jetstream", error: describe(error), round },
        "waiting out a NATS outage",
      );
      if (!(await pause(Math.min(delay, attempt.deadline - Date.now()), signals))) {
        throw interruption(context, attempt.signal) ?? error;
      }
    }
  }
}

/** The error ending a write that was aborted or overtaken by shutdown; `undefined` otherwise. */
function interruption(context: WriteContext, signal: AbortSignal): AdapterError | undefined {
  if (context.shutdownSignal.aborted)
    return new AdapterShutdownError("the adapter was shut down during the batch");
  if (signal.aborted) {
    return new TransientError(
      "onBatch aborted",
      signal.reason === undefined ? {} : { cause: scrubbedCopy(signal.reason) },
    );
  }
  return undefined;
}

/** Turns a failed window's error into the one to report. */
async function explain(context: WriteContext, shard: number, error: unknown): Promise<AdapterError> {
  const { streams } = context.session;
  if (context.shutdownSignal.aborted)
    return new AdapterShutdownError("the adapter was shut down during the batch");
  if (!(error instanceof NoRespondersReply)) return classifyClientError(error, "publish");
  // No stream listened. Gone for good (deleted after we made it), or JetStream not up yet?
  let info: Awaited<ReturnType<StreamRegistry["lookup"]>>;
  try {
    info = await streams.lookup(shard);
  } catch (lookupError) {
    return classifyClientError(lookupError, `${error.message}; then`);
  }
  if (info !== undefined) return error;
  streams.forget(shard);
  return new FatalError(
    `stream ${streamName(context.options.prefix, shard)} was not found after it had been created (deleted?); the batch is refused and the next one creates the stream again`,
  );
}
