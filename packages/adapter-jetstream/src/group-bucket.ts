import {
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type OrderedPushConsumerOptions,
  type PushConsumer,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  jetstream,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { AdapterShutdownError } from "@netmesh/core/adapter";
import {
  API_CODES,
  UnavailableError,
  apiErrorOf,
  classifyClientError,
  isStreamNotFound,
} from "./classify.js";

const NANOS_PER_MS = 1_000_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One key of the bucket as read: its JSON value and its revision (the stream sequence). */
export interface BucketEntry<T> {
  readonly value: T;
  readonly revision: number;
}

/** A running {@link GroupBucket.follow}. */
export interface BucketFollow {
  /** Settles once the consumer stopped for good (closed, or given up by the client). */
  readonly ended: Promise<void>;
  close(): void;
}

/** What the bucket needs from its adapter. */
export interface BucketHost {
  /** Names the bucket `{prefix}_groups`. */
  readonly prefix: string;
  readonly replicas: number;
  readonly requestTimeoutMs: number;
  /** The live connection and manager; throws `AdapterShutdownError` when the adapter is not ready. */
  session(): { readonly connection: NatsConnection; readonly manager: JetStreamManager };
}

/**
 * The consumer groups' JetStream KV bucket, in the standard KV layout (stream `KV_{prefix}_groups`,
 * subjects `$KV.{prefix}_groups.>`, one message kept per key), so `nats kv` can inspect it. Only what
 * nats-server 2.9 offers is used: per-key compare-and-set through `Nats-Expected-Last-Subject-Sequence`
 * (a key's revision is the stream sequence of its last message), "last message of a subject" gets, and
 * the stream info's per-subject listing. No per-key TTL (2.11): expiry is judged by the coordinator.
 */
export class GroupBucket {
  readonly bucket: string;
  readonly stream: string;
  private ensured: Promise<void> | undefined;
  private client: { connection: NatsConnection; js: JetStreamClient } | undefined;

  constructor(private readonly host: BucketHost) {
    this.bucket = `${host.prefix}_groups`;
    this.stream = `KV_${this.bucket}`;
  }

  /** The subject of `key` (dot-separated tokens of `[A-Za-z0-9_-]`). */
  subject(key: string): string {
    return `$KV.${this.bucket}.${key}`;
  }

  /** The last value of `key`, or undefined when it has none. */
  async get<T>(key: string, what: string): Promise<BucketEntry<T> | undefined> {
    return this.call(what, async (manager) => {
      let stored: Awaited<ReturnType<JetStreamManager["streams"]["getMessage"]>>;
      try {
        stored = await manager.streams.getMessage(this.stream, { last_by_subj: this.subject(key) });
      } catch (error) {
        if (apiErrorOf(error)?.err_code === API_CODES.messageNotFound) return undefined;
        throw error;
      }
      if (stored === null || stored.data.length === 0) return undefined;
      return { value: JSON.parse(decoder.decode(stored.data)) as T, revision: stored.seq };
    });
  }

  /**
   * Writes `value` to `key` if its revision is still `revision` (0: the key has no message yet).
   * The new revision, or undefined when another write came first. Without `revision`, writes anyway.
   */
  async put(key: string, value: unknown, what: string, revision?: number): Promise<number | undefined> {
    return this.call(what, async () => {
      const js = this.jetstream();
      try {
        const ack = await js.publish(this.subject(key), encoder.encode(JSON.stringify(value)), {
          timeout: this.host.requestTimeoutMs,
          ...(revision === undefined ? {} : { expect: { lastSubjectSequence: revision } }),
        });
        return ack.seq;
      } catch (error) {
        if (apiErrorOf(error)?.err_code === API_CODES.wrongLastSequence) return undefined;
        throw error;
      }
    });
  }

  /**
   * Delivers the last write of every key under `pattern` (a key with `*` wildcards), then every later
   * one, in stream order, to `deliver`: an ordered push consumer, which the client re-creates from the
   * next sequence past a gap or missed heartbeats. One round trip creates it; the server then pushes.
   * Resolves once the last writes are delivered (the follower is caught up), within the call's bound.
   */
  async follow(
    pattern: string,
    deliver: (key: string, revision: number, data: Uint8Array) => void,
  ): Promise<BucketFollow> {
    const head = `$KV.${this.bucket}.`.length;
    let messages: Awaited<ReturnType<PushConsumer["consume"]>> | undefined;
    try {
      return await this.call("watch", async () => {
        // In memory: a consumer with file-backed state costs disk writes to create, which a joining
        // member waits for on a busy server (the client passes the flag through to the config).
        const options: Partial<OrderedPushConsumerOptions> & { mem_storage: boolean } = {
          filter_subjects: this.subject(pattern),
          deliver_policy: DeliverPolicy.LastPerSubject,
          mem_storage: true,
        };
        const consumer = await this.jetstream().consumers.getPushConsumer(this.stream, options);
        const { num_pending: pending } = await consumer.info(true);
        let caught: () => void = () => {};
        const caughtUp = new Promise<void>((resolve) => {
          caught = resolve;
        });
        // Caught up once the last writes that existed at the creation are delivered: as many
        // messages as were pending then (writes go on all the time, so `pending` is rarely 0 for
        // long); a last write superseded before its delivery is made up for by the write after it.
        let delivered = 0;
        if (pending === 0) caught();
        messages = await consumer.consume({
          callback: (message) => {
            deliver(message.subject.slice(head), message.seq, message.data);
            delivered++;
            if (delivered >= pending || message.info.pending === 0) caught();
          },
        });
        const running = messages;
        const ended = running.closed().then(
          () => undefined,
          () => undefined,
        );
        await Promise.race([caughtUp, ended]);
        return {
          ended,
          close: () => {
            // Deleted rather than left for the server's inactivity threshold (minutes, for ordered ones).
            void running.close().catch(() => {});
            void consumer.delete().catch(() => false);
          },
        };
      });
    } catch (error) {
      void messages?.close().catch(() => {});
      throw error;
    }
  }

  /**
   * Removes `key` from the stream if `revision` is still its last write: a purge of the key's messages
   * below `revision + 1`, so a later write survives it. Consumers see nothing of a purge.
   */
  async purge(key: string, revision: number, what: string): Promise<void> {
    await this.call(what, (manager) =>
      manager.streams.purge(this.stream, { filter: this.subject(key), seq: revision + 1 }),
    );
  }

  /** Creates the bucket once (a concurrent or earlier creation by another process is fine). */
  private ensure(manager: JetStreamManager): Promise<void> {
    this.ensured ??= (async () => {
      try {
        await manager.streams.info(this.stream);
        return;
      } catch (error) {
        if (!isStreamNotFound(error)) throw error;
      }
      const config: Partial<StreamConfig> & { name: string } = {
        name: this.stream,
        subjects: [`$KV.${this.bucket}.>`],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.New,
        max_msgs_per_subject: 1,
        num_replicas: this.host.replicas,
        allow_rollup_hdrs: true,
        deny_delete: true,
        allow_direct: true,
        duplicate_window: 120_000 * NANOS_PER_MS,
      };
      try {
        await manager.streams.add(config);
      } catch (error) {
        if (apiErrorOf(error)?.err_code !== API_CODES.streamNameInUse) throw error;
      }
    })().catch((error: unknown) => {
      this.ensured = undefined;
      throw error;
    });
    return this.ensured;
  }

  private jetstream(): JetStreamClient {
    const { connection } = this.host.session();
    if (this.client?.connection !== connection) {
      this.client = { connection, js: jetstream(connection, { timeout: this.host.requestTimeoutMs }) };
    }
    return this.client.js;
  }

  /**
   * Runs `run`, creating the bucket first when it turns out missing: the bucket is there nearly
   * always, so a process's first call (a joining member's heartbeat) does not wait for a look-up.
   */
  private async attempt<T>(
    manager: JetStreamManager,
    what: string,
    run: (manager: JetStreamManager) => Promise<T>,
  ): Promise<T> {
    if (this.ensured !== undefined) {
      await this.ensured;
      return run(manager);
    }
    try {
      return await run(manager);
    } catch (error) {
      // A missing stream: "not found" from the API, no responders for a publish to its subjects.
      const missing = isStreamNotFound(error) || classifyClientError(error, what) instanceof UnavailableError;
      if (!missing) throw error;
    }
    await this.ensure(manager);
    return run(manager);
  }

  /** Runs one bucket operation, bounded by `requestTimeoutMs` (twice: a first use creates the bucket). */
  private async call<T>(what: string, run: (manager: JetStreamManager) => Promise<T>): Promise<T> {
    const { manager } = this.host.session();
    const bound = 2 * this.host.requestTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error(`no answer within ${bound} ms`), { name: "TimeoutError" })),
        bound,
      );
    });
    try {
      return await Promise.race([this.attempt(manager, what, run), expired]);
    } catch (error) {
      if (error instanceof AdapterShutdownError) throw error;
      throw classifyClientError(error, `group ${what} (bucket ${this.bucket})`);
    } finally {
      clearTimeout(timer);
    }
  }
}
