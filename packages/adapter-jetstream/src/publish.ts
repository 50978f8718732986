import type { Msg, MsgHdrs, NatsConnection, PublishOptions } from "@nats-io/nats-core";
import { type Batch, FatalError, TransientError } from "@netmesh/core/adapter";
import { UnavailableError, classifyApiError, classifyClientError } from "./classify.js";
import { EncodedHeaders, headerBlock } from "./headers.js";
import type { PayloadEncoder, PreparedBatch } from "./payloads.js";
import { parsePubAck } from "./pub-ack.js";
import { ReplyGroup, type ReplyMux } from "./reply-mux.js";

/**
 * A no-responders status came back for a publish: no stream listens on the subject. The adapter looks
 * the stream up before deciding whether that is fatal (the stream is gone) or transient (JetStream is
 * still starting after a restart).
 */
export class NoRespondersReply extends UnavailableError {}

const decoder = new TextDecoder();

/** Counts the PubAcks of one window of publishes; settles when all arrived or at the first refusal. */
class AckGroup extends ReplyGroup {
  /** Acks that stored a new message. */
  stored = 0;
  /** Acks of a message id the server had already stored (dedup). */
  duplicates = 0;
  private readonly seen: Uint8Array;
  private remaining: number;

  constructor(
    readonly subject: string,
    count: number,
  ) {
    super();
    this.seen = new Uint8Array(count);
    this.remaining = count;
  }

  onReply(index: number, msg: Msg): void {
    if (this.isSettled || index < 0 || index >= this.seen.length || this.seen[index] === 1) return;
    const data = msg.data;
    if (data.length === 0) {
      // A status message, not a PubAck: 503 is "no responders".
      const code = msg.headers?.code ?? 0;
      if (code === 503) this.fail(new NoRespondersReply(`no stream listens on ${this.subject}`));
      else this.fail(new TransientError(`publish to ${this.subject}: unexpected status ${code}`));
      return;
    }
    const ack = parsePubAck(decoder.decode(data));
    if (ack === undefined) {
      this.fail(new FatalError(`publish to ${this.subject}: the reply is not a PubAck`));
      return;
    }
    if (!ack.ok) {
      this.fail(classifyApiError(ack.error, `publish to ${this.subject} refused`));
      return;
    }
    this.seen[index] = 1;
    if (ack.duplicate) this.duplicates++;
    else this.stored++;
    if (--this.remaining === 0) this.complete();
  }
}

/** Outcome of {@link publishWindow}. */
export interface WindowResult {
  readonly stored: number;
  readonly duplicates: number;
}

/** What {@link publishWindow} needs besides the events. */
export interface PublishContext {
  readonly connection: NatsConnection;
  readonly mux: ReplyMux;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Writes the header blocks into the same slabs as the payloads. */
  readonly encoder: PayloadEncoder;
}

/**
 * Publishes messages `from` to `to` (exclusive) of the prepared batch (see `prepareBatch`) to
 * `subject`, all at once, each with its message id in `Nats-Msg-Id` (for dedup) and its timestamp in
 * `Netmesh-Ts`, and a reply subject of the mux; then awaits every ack together, bounded by
 * `timeoutMs`. Publishing itself only fills the client's buffer (it cannot block), so the ack phase is
 * the one that needs the bound. The payloads are views into the batch's bytes, never copied.
 */
export async function publishWindow(
  context: PublishContext,
  subject: string,
  batch: Batch,
  prepared: PreparedBatch,
  from: number,
  to: number,
): Promise<WindowResult> {
  const count = to - from;
  const group = new AckGroup(subject, count);
  context.mux.open(group, context.timeoutMs, `acks of ${count} publishes to ${subject}`, context.signal);
  const prefix = group.replyPrefix;
  const timestamps = batch.timestamps;
  const { data, offsets } = prepared.bytes;
  const order = prepared.order;
  const encoder = context.encoder;
  // One options object for the whole window: the client reads it during publish() and keeps nothing.
  const options: { reply: string; headers: MsgHdrs | undefined } = { reply: "", headers: undefined };
  try {
    for (let k = 0; k < count && !group.isSettled; k++) {
      const i = order === undefined ? from + k : order[from + k]!;
      const block = encoder.ascii(headerBlock(batch.messageId(i), timestamps[i]!));
      options.reply = prefix + k;
      options.headers = new EncodedHeaders(block);
      context.connection.publish(
        subject,
        data.subarray(offsets[i]!, offsets[i + 1]!),
        options as PublishOptions,
      );
    }
  } catch (error) {
    // What was published before the throw may still be stored: the retry's dedup takes care of it.
    group.fail(classifyClientError(error, `publish to ${subject}`));
  }
  await group.done;
  return { stored: group.stored, duplicates: group.duplicates };
}
