import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { FatalError, type Logger } from "@netmesh/core/adapter";
import { API_CODES, apiErrorOf, classifyClientError, isStreamNotFound } from "./classify.js";
import { shardSubject, streamName } from "./naming.js";
import type { ResolvedOptions } from "./options.js";

const NANOS_PER_MS = 1_000_000;

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
>;

/** The stream settings the options ask for (the server's "unlimited" is -1, or 0 for max_age). */
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
  /** Shards whose stream was seen to exist with direct gets allowed. */
  private readonly readableShards = new Set<number>();

  constructor(
    private readonly manager: JetStreamManager,
    private readonly options: ResolvedOptions,
    private readonly logger: Logger,
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
  }

  /** Forgets every shard. */
  clear(): void {
    this.ready.clear();
    this.readableShards.clear();
  }

  /**
   * True when the shard's stream exists, so direct gets on it will be answered; false when it does not
   * (a shard never written). The server leaves a direct get on a missing stream unanswered rather than
   * saying so, hence the lookup, done once per shard. A stream without `allow_direct` is fatal.
   */
  async readable(shard: number): Promise<boolean> {
    if (this.readableShards.has(shard)) return true;
    const info = await this.lookup(shard);
    if (info === undefined) return false;
    if (info.config.allow_direct !== true) {
      throw new FatalError(`stream ${info.config.name} does not allow direct gets (allow_direct is off)`);
    }
    this.readableShards.add(shard);
    return true;
  }

  /**
   * The stream's info, or `undefined` when it does not exist. Other failures reject with a classified
   * error (a timeout or no responders while JetStream starts are retryable).
   */
  async lookup(shard: number): Promise<StreamInfo | undefined> {
    const name = streamName(this.options.prefix, shard);
    try {
      return await this.manager.streams.info(name);
    } catch (error) {
      if (isStreamNotFound(error)) return undefined;
      throw classifyClientError(error, `look up stream ${name}`);
    }
  }

  private async prepare(shard: number): Promise<void> {
    const name = streamName(this.options.prefix, shard);
    const subject = shardSubject(this.options.prefix, shard);
    const wanted = managedConfig(this.options);
    this.logger.debug({ adapter: "jetstream", stream: name }, "looking up stream");
    let info = await this.lookup(shard);
    if (info === undefined) {
      try {
        await this.manager.streams.add({ name, subjects: [subject], ...wanted });
        this.logger.info({ adapter: "jetstream", stream: name, subject }, "stream created");
        this.readableShards.add(shard);
        return;
      } catch (error) {
        // Another process created it between our lookup and our create: check its settings instead.
        if (apiErrorOf(error)?.err_code !== API_CODES.streamNameInUse) {
          throw classifyClientError(error, `create stream ${name}`);
        }
        info = await this.lookup(shard);
        if (info === undefined) throw classifyClientError(error, `create stream ${name}`);
      }
    }
    const differences = streamDifferences(info.config, wanted, subject);
    if (differences.length === 0) {
      this.readableShards.add(shard);
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
    this.readableShards.add(shard);
  }
}
