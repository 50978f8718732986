import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { FatalError, type Logger, TransientError } from "@netmesh/core/adapter";
import {
  API_CODES,
  type ApiErrorBody,
  UnavailableError,
  classifyApiError,
  classifyClientError,
} from "./classify.js";
import { shardSubject, streamName } from "./naming.js";
import type { ResolvedOptions } from "./options.js";
import { type ReplyMux, muxRequest } from "./reply-mux.js";
import { lastSequenceIn } from "./stream-reset.js";

const NANOS_PER_MS = 1_000_000;
/** The first bound of an API request; each unanswered attempt doubles it (see `StreamRegistry.api`). */
const FIRST_API_BOUND_MS = 250;

/** An API request went unanswered for all of `requestTimeoutMs` (retryable). */
class UnansweredError extends TransientError {}
const decoder = new TextDecoder();

/** The settings the adapter manages on each stream, as the server reports them. */
type ManagedConfig = Pick<
  StreamConfig,
  | "retention"
  | "storage"
  | "discard"
  | "num_replicas"
  | "allow_direct"
  | "duplicate_window"
  | "max_msgs"
  | "max_bytes"
  | "max_age"
  | "max_msg_size"
  | "max_msgs_per_subject"
>;

/**
 * The stream settings the options ask for (the server's "unlimited" is -1, or 0 for max_age). No size
 * or per-subject limit of its own: a `max_msg_size` would refuse events within `maxEventBytes` (failing
 * their whole batch rather than each alone), and with one subject `max_msgs_per_subject` discards like
 * `max_msgs`.
 */
export function managedConfig(options: ResolvedOptions): ManagedConfig {
  return {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: options.replicas,
    allow_direct: true,
    duplicate_window: options.duplicateWindowMs * NANOS_PER_MS,
    max_msgs: options.maxMessages ?? -1,
    max_bytes: options.maxBytes ?? -1,
    max_age: (options.maxAgeMs ?? 0) * NANOS_PER_MS,
    max_msg_size: -1,
    max_msgs_per_subject: -1,
  };
}

/** Where an existing stream differs from what the adapter needs, as `field: actual ≠ wanted` texts. */
export function streamDifferences(actual: StreamConfig, wanted: ManagedConfig, subject: string): string[] {
  const differences: string[] = [];
  if (!(actual.subjects ?? []).includes(subject)) {
    differences.push(`subjects: ${JSON.stringify(actual.subjects ?? [])} lacks ${subject}`);
  }
  for (const key of Object.keys(wanted) as (keyof ManagedConfig)[]) {
    const want = wanted[key];
    const have = actual[key] ?? (typeof want === "boolean" ? false : undefined);
    if (have !== want) differences.push(`${key}: ${String(have)} ≠ ${String(want)}`);
  }
  return differences;
}

/**
 * Creates the stream of each shard on its first write, at most once per shard: concurrent first writes
 * share one promise. Looks the stream up first and creates it only when it does not exist; a stream
 * made by someone else with other settings is refused or updated (`onStreamMismatch`). A failure
 * empties the shard's slot, so the next write tries again.
 */
export class StreamRegistry {
  private readonly ready = new Map<number, Promise<void>>();
  /** Shards whose stream was seen to exist with direct gets allowed, with the stream's replica count. */
  private readonly readableShards = new Map<number, number>();
  /** Lookups of {@link readable} in flight, shared by the reads that wait for them. */
  private readonly lookingUp = new Map<number, Promise<number | undefined>>();
  /** Shards whose stream acknowledged a publish since the last sign that it may not listen. */
  private readonly listening = new Set<number>();
  /** Lookups sent (and streams created) so far: the serial of the latest. */
  private lookups = 0;
  /** Per shard, the stream's last sequence as the latest lookup (by serial) found it. */
  private readonly lastFound = new Map<number, { serial: number; last: bigint }>();
  /** Per shard, the highest sequence known to exist in its stream (see {@link highestKnown}). */
  private readonly highest = new Map<number, bigint>();

  constructor(
    private readonly manager: JetStreamManager,
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
    private readonly connection: NatsConnection,
    private readonly mux: ReplyMux,
  ) {}

  /** Resolves once the shard's stream exists with the adapter's settings. */
  ensure(shard: number): Promise<void> {
    let pending = this.ready.get(shard);
    if (pending === undefined) {
      const created = this.prepare(shard);
      pending = created;
      this.ready.set(shard, created);
      created.catch(() => {
        if (this.ready.get(shard) === created) this.ready.delete(shard);
      });
    }
    return pending;
  }

  /** Forgets what is known of the shard's stream (it was found missing, or stopped answering). */
  forget(shard: number): void {
    this.ready.delete(shard);
    this.readableShards.delete(shard);
    this.lookingUp.delete(shard);
    this.listening.delete(shard);
    this.highest.delete(shard);
  }

  /** Forgets every shard. */
  clear(): void {
    this.ready.clear();
    this.readableShards.clear();
    this.lookingUp.clear();
    this.listening.clear();
    this.highest.clear();
  }

  /**
   * True when a publish to the shard's subject was acknowledged since the stream was created or looked
   * up, since the last "no responders" for it, and since the last reconnect: the server this client
   * is connected to knows the stream listens.
   *
   * Until then a write publishes one event alone and awaits its ack before pipelining the rest. Core
   * NATS publishes in flight are delivered or dropped one by one: right after a replicated stream is
   * created, the server the client uses may not know yet that the stream (on its leader) listens, and
   * drops the first publishes with "no responders" while later ones of the same window are stored. The
   * retry would then store the dropped events after those later ones, out of order (contract rule 1).
   * The same holds while JetStream restarts, and after a reconnect to another server.
   */
  isListening(shard: number): boolean {
    return this.listening.has(shard);
  }

  /** A publish to the shard's stream was acknowledged. */
  heard(shard: number): void {
    this.listening.add(shard);
  }

  /** A publish to the shard's subject found no stream listening. */
  unheard(shard: number): void {
    this.listening.delete(shard);
  }

  /** The connection was lost: no stream is known to listen on the next server. */
  unheardAll(): void {
    this.listening.clear();
  }

  /**
   * The replica count of the shard's stream when it exists, so direct gets on it will be answered;
   * `undefined` when it does not (a shard never written). The server leaves a direct get on a missing
   * stream unanswered rather than saying so, hence the lookup, done once per shard. The replica count
   * tells a read whether a direct get's "no message" can come from a replica that lags the leader. A
   * stream without `allow_direct` is fatal. Concurrent reads share one lookup.
   */
  readable(shard: number): Promise<number | undefined> {
    const known = this.readableShards.get(shard);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.lookingUp.get(shard);
    if (pending === undefined) {
      const started = this.lookUpReadable(shard).finally(() => {
        if (this.lookingUp.get(shard) === started) this.lookingUp.delete(shard);
      });
      pending = started;
      this.lookingUp.set(shard, started);
    }
    return pending;
  }

  private async lookUpReadable(shard: number): Promise<number | undefined> {
    const info = await this.lookup(shard);
    if (info === undefined) return undefined;
    if (info.config.allow_direct !== true) {
      throw new FatalError(`stream ${info.config.name} does not allow direct gets (allow_direct is off)`);
    }
    const replicas = Math.max(1, info.config.num_replicas ?? 1);
    this.readableShards.set(shard, replicas);
    return replicas;
  }

  /**
   * The stream's info, or `undefined` when it does not exist. Other failures reject with a classified
   * error (a timeout or no responders while JetStream starts are retryable). Unanswered, it gives up
   * after `timeoutMs` (default `requestTimeoutMs`).
   */
  async lookup(shard: number, timeoutMs = this.options.requestTimeoutMs): Promise<StreamInfo | undefined> {
    const name = streamName(this.options.prefix, shard);
    const what = `look up stream ${name}`;
    const serial = ++this.lookups;
    const { body, text } = await this.api<StreamInfo>(`$JS.API.STREAM.INFO.${name}`, "", what, timeoutMs);
    if (body.error !== undefined) {
      if (body.error.err_code === API_CODES.streamNotFound) return undefined;
      throw classifyApiError(body.error, what);
    }
    if (typeof body.config !== "object" || body.config === null) {
      throw new TransientError(`${what}: the reply holds no stream configuration`);
    }
    const last = lastSequenceIn(text);
    if (last !== undefined) this.learned(shard, serial, last);
    return body;
  }

  /**
   * The stream's last sequence, exactly, by a fresh lookup; `undefined` when the stream does not exist
   * or the reply tells none. Rejects as {@link lookup} does.
   */
  async lastSequence(shard: number): Promise<bigint | undefined> {
    const before = this.lookups;
    if ((await this.lookup(shard)) === undefined) return undefined;
    return this.lastSequenceSince(shard, before);
  }

  /**
   * The serial of the latest lookup sent: a read takes it when it begins, and only trusts a last
   * sequence found by a lookup sent after (see {@link lastSequenceSince}).
   */
  lookupSerial(): number {
    return this.lookups;
  }

  /**
   * The last sequence of the shard's stream as a lookup sent after `serial` (or the stream's creation
   * by this adapter since) found it; `undefined` when there was none. A cursor above it comes from an
   * earlier life of the stream: sequences only grow within one.
   */
  lastSequenceSince(shard: number, serial: number): bigint | undefined {
    const found = this.lastFound.get(shard);
    return found !== undefined && found.serial > serial ? found.last : undefined;
  }

  /**
   * The highest sequence known to exist in the shard's stream: its last sequence at the latest lookup,
   * or a sequence read since ({@link saw}). `undefined` when not known (never looked up, or forgotten).
   * A read that finds nothing after a cursor above it looks the stream up (a reset?); one at or below
   * it does not, so a reader following the stream's end costs no extra request.
   */
  highestKnown(shard: number): bigint | undefined {
    return this.highest.get(shard);
  }

  /** A read found `sequence` in the shard's stream. */
  saw(shard: number, sequence: bigint): void {
    const known = this.highest.get(shard);
    if (known !== undefined && sequence > known) this.highest.set(shard, sequence);
  }

  private learned(shard: number, serial: number, last: bigint): void {
    const found = this.lastFound.get(shard);
    if (found === undefined || found.serial < serial) this.lastFound.set(shard, { serial, last });
    this.highest.set(shard, last);
  }

  /**
   * Sends a JetStream API request and resolves its JSON reply (which may carry an `error`).
   *
   * In a cluster, a request can go unanswered while a replicated stream is being created or elects its
   * leader (only the leader answers, and there is none yet), and a create that raced another one for the
   * same stream can lose its reply. So an unanswered request is sent again with a doubled bound (250 ms,
   * then 500, …) until `timeoutMs` (default `requestTimeoutMs`) has passed, rather than one request
   * waiting all of it; then it rejects with an {@link UnansweredError}. The requests this is used for
   * (info, create with the same settings) can be repeated safely. Resolves the parsed reply and its text.
   */
  private async api<T>(
    subject: string,
    payload: string,
    what: string,
    timeoutMs = this.options.requestTimeoutMs,
  ): Promise<{ body: T & { error?: ApiErrorBody }; text: string }> {
    const deadline = Date.now() + timeoutMs;
    for (let bound = FIRST_API_BOUND_MS; ; bound *= 2) {
      const left = deadline - Date.now();
      let reply: Msg;
      try {
        reply = await muxRequest(
          this.connection,
          this.mux,
          subject,
          payload,
          Math.max(1, Math.min(bound, left)),
          what,
        );
      } catch (error) {
        const unanswered = error instanceof TransientError && !(error instanceof UnavailableError);
        if (!unanswered) throw classifyClientError(error, what);
        if (Date.now() < deadline) continue;
        throw new UnansweredError(`${what}: no answer within ${timeoutMs} ms`);
      }
      const code = reply.headers?.code ?? 0;
      let body: T & { error?: ApiErrorBody };
      const text = decoder.decode(reply.data);
      if (reply.data.length === 0 && code !== 0) {
        body = { error: { code, description: reply.headers?.description ?? "" } } as T & {
          error?: ApiErrorBody;
        };
      } else {
        try {
          body = JSON.parse(text) as T & { error?: ApiErrorBody };
        } catch {
          throw new TransientError(`${what}: the reply is not JSON`);
        }
      }
      // "Not now" (no responders, no leader, JetStream starting): asked again within the bound.
      if (body.error?.code === 503 && Date.now() + bound / 2 < deadline) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(bound, deadline - Date.now()) / 2));
        continue;
      }
      if (body.error?.code === 503) {
        throw new UnavailableError(
          `${what}: ${body.error.description ?? "JetStream not available"} (status 503)`,
        );
      }
      return { body, text };
    }
  }

  private async prepare(shard: number): Promise<void> {
    const name = streamName(this.options.prefix, shard);
    const subject = shardSubject(this.options.prefix, shard);
    const wanted = managedConfig(this.options);
    this.logger.debug({ adapter: "jetstream", stream: name }, "looking up stream");
    let info = await this.lookup(shard);
    if (info === undefined) {
      const what = `create stream ${name}`;
      try {
        const config = JSON.stringify({ name, subjects: [subject], ...wanted });
        const serial = ++this.lookups;
        const { body: created } = await this.api<StreamInfo>(`$JS.API.STREAM.CREATE.${name}`, config, what);
        if (created.error === undefined) {
          this.logger.info({ adapter: "jetstream", stream: name, subject }, "stream created");
          this.readableShards.set(shard, wanted.num_replicas ?? 1);
          // A new life of the stream: a cursor from before it (above 0) is from an earlier one.
          this.learned(shard, serial, 0n);
          return;
        }
        // Another process created it between our lookup and our create: check its settings instead.
        if (created.error.err_code !== API_CODES.streamNameInUse) throw classifyApiError(created.error, what);
      } catch (error) {
        // Unanswered: the stream may exist all the same (a reply lost in a create race). Look.
        if (!(error instanceof UnansweredError)) throw error;
      }
      info = await this.lookup(shard);
      if (info === undefined) throw new TransientError(`${what}: no answer, and the stream does not exist`);
    }
    const differences = streamDifferences(info.config, wanted, subject);
    if (differences.length === 0) {
      this.readableShards.set(shard, wanted.num_replicas ?? 1);
      return;
    }
    if (this.options.onStreamMismatch === "fail") {
      throw new FatalError(
        `stream ${name} exists with other settings (${differences.join("; ")}); update it or set onStreamMismatch: "update"`,
      );
    }
    const subjects = [...new Set([...(info.config.subjects ?? []), subject])];
    try {
      await this.manager.streams.update(name, { ...wanted, subjects });
    } catch (error) {
      throw classifyClientError(error, `update stream ${name} (${differences.join("; ")})`);
    }
    this.logger.warn({ adapter: "jetstream", stream: name, differences }, "stream settings updated");
    this.readableShards.set(shard, wanted.num_replicas ?? 1);
  }
}
