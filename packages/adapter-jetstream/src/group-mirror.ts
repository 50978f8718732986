import { AdapterShutdownError } from "@netmesh/core/adapter";
import type { BucketEntry, BucketFollow, GroupBucket } from "./group-bucket.js";

/** One key of a group as this process last saw it, and since when (monotonic) at that revision. */
export interface Observed<T = unknown> extends BucketEntry<T> {
  /** `performance.now()` when this process first saw the key at this revision. */
  readonly since: number;
}

/** Whether a write changed what the members act on: `before` is the key as seen until now. */
export type ChangeTest = (key: string, before: Observed | undefined, after: Observed) => boolean;

/** What {@link GroupMirror.read} gives: every key of the group with what was seen of it. */
export type MirrorView = ReadonlyMap<string, Observed>;

const decoder = new TextDecoder();

/**
 * A write of this process that the follow has not delivered after this long means the follow stalled
 * (a consumer lost in a server restart is noticed by the client only after two missed 30 s heartbeats):
 * it is started anew. Deliveries take milliseconds, well under a second on a saturated machine.
 */
const STALL_MS = 5_000;

/**
 * A live copy of one group's keys in this process: an ordered consumer on the group's subjects that
 * delivers the last write of each key, then every later one as it is stored (one round trip to
 * start; reads wait until it caught up). Members and leases are then read here without a round trip,
 * and a write that changed the membership or a lease's holder (as `changed` judges) is reported to
 * the listeners at once. Expiry keeps the KCL rule: `since` is when this process first saw a revision, so
 * a mirror that started (or restarted) late only delays a takeover, never hastens one.
 *
 * A consumer that ends (a shutdown, a deleted bucket, a failure the client gave up on) leaves the
 * mirror stale: the next read (or, with listeners, at once) follows the group anew.
 */
export class GroupMirror {
  private view = new Map<string, Observed>();
  /** While catching up after a restart: the view before it, for the `since` of unchanged keys. */
  private previous = new Map<string, Observed>();
  private catching = false;
  /** The latest write of this process not yet delivered by the follow, and since when it waits. */
  private awaited: { readonly revision: number; readonly since: number } | undefined;
  private started: Promise<void> | undefined;
  private follow: BucketFollow | undefined;
  private stopped = false;
  private notifying = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly bucket: GroupBucket,
    /** The group's key prefix (its token): the mirror holds `{prefix}.{kind}.{name}`. */
    private readonly prefix: string,
    private readonly changed: ChangeTest,
  ) {}

  /** The group's keys as last seen, once the mirror follows the bucket (started on first use). */
  async read(): Promise<MirrorView> {
    const awaited = this.awaited;
    if (awaited !== undefined && performance.now() - awaited.since > STALL_MS) this.restart();
    await this.start();
    return this.view;
  }

  /** Calls `listener` after each write that `changed` reports, until the returned function is called. */
  watch(listener: () => void): () => void {
    const entry = () => listener();
    this.listeners.add(entry);
    // Following begins now, so that the first change is not missed; a failure shows at the next read.
    this.start().catch(() => {});
    return () => {
      this.listeners.delete(entry);
    };
  }

  /**
   * What this process wrote (`written`) or read itself, known before the follow brings it: a later
   * read of this process sees it (its own writes are never shown older than they are). No change is
   * reported: the writer acts on its own write. A write must then come back through the follow.
   */
  learn<T>(key: string, entry: BucketEntry<T>, written = false): Observed<T> {
    if (written && this.follow !== undefined && (this.awaited?.revision ?? 0) < entry.revision) {
      this.awaited = { revision: entry.revision, since: this.awaited?.since ?? performance.now() };
    }
    const before = this.view.get(key);
    if (before !== undefined && before.revision >= entry.revision) return before as Observed<T>;
    const after: Observed<T> = { ...entry, since: performance.now() };
    this.view.set(key, after);
    return after;
  }

  /** Forgets `key` if it is still at `revision` (this process removed it from the bucket). */
  forget(key: string, revision: number): void {
    if (this.view.get(key)?.revision === revision) this.view.delete(key);
  }

  /** Stops following for good. */
  stop(): void {
    this.stopped = true;
    this.restart();
    this.listeners.clear();
  }

  private start(): Promise<void> {
    if (this.stopped) return Promise.reject(new AdapterShutdownError());
    this.started ??= this.begin().catch((error: unknown) => {
      this.started = undefined;
      throw error;
    });
    return this.started;
  }

  private async begin(): Promise<void> {
    // Rebuilt from the last write of each key: a key removed while not following must not linger.
    // A key seen before at the same revision keeps its `since`, so a restart never hastens expiry.
    if (!this.catching) this.previous = this.view; // (after a failed start, the view before it)
    this.catching = true;
    this.view = new Map();
    const restarted = this.previous.size > 0;
    const follow = await this.bucket.follow(`${this.prefix}.*.*`, (key, revision, data) =>
      this.apply(key, revision, data),
    );
    this.catching = false;
    this.previous = new Map();
    if (this.stopped) {
      follow.close();
      return;
    }
    this.follow = follow;
    void follow.ended.then(() => {
      if (this.follow !== follow) return;
      this.follow = undefined;
      this.started = undefined; // the next read follows anew
      if (this.listeners.size > 0 && !this.stopped) this.start().catch(() => {});
    });
    if (restarted) this.notify(); // what changed while not following went unreported
  }

  /** Drops the follow (its consumer is deleted); the next read follows anew. */
  private restart(): void {
    this.follow?.close();
    this.follow = undefined;
    this.started = undefined;
    this.awaited = undefined;
  }

  private apply(key: string, revision: number, data: Uint8Array): void {
    if (this.awaited !== undefined && revision >= this.awaited.revision) this.awaited = undefined;
    const before = this.view.get(key);
    if (before !== undefined && before.revision >= revision) return; // the listing read it already
    if (data.length === 0) {
      // A delete or purge marker written with `nats kv`: the key is gone.
      this.view.delete(key);
      this.notify();
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(data));
    } catch {
      return; // not written by a coordinator: nothing to act on
    }
    const earlier = this.previous.get(key);
    const since = earlier?.revision === revision ? earlier.since : performance.now();
    const after: Observed = { value, revision, since };
    this.view.set(key, after);
    if (this.changed(key, before, after)) this.notify();
  }

  /** Reports a change to the listeners once per turn of the event loop, outside the consumer. */
  private notify(): void {
    if (this.notifying || this.listeners.size === 0) return;
    this.notifying = true;
    setImmediate(() => {
      this.notifying = false;
      for (const listener of [...this.listeners]) listener();
    });
  }
}
