import type { Adapter, StoredEvent } from "../contract/adapter.js";
import type { GroupCoordinator } from "../contract/group.js";
import type { Logger } from "../contract/logger.js";
import { ConfigError } from "../errors.js";

/** When a group member records its position in a shard. */
export type AckMode = "auto" | "manual";

/** Options of `reader.subscribe({ group, member })`: a member of a consumer group. */
export interface GroupSubscribeOptions {
  /**
   * The group's name: members of one group split the shards; each group reads every event. 1 to 200
   * printable ASCII characters other than space, `{` and `}` (else `ConfigError`).
   */
  readonly group: string;
  /** This member's name, unique in the group (e.g. host and process); the same characters as `group`. */
  readonly member: string;
  /**
   * How long a lease (and a membership heartbeat) lives without renewal, ms: a member that dies has
   * its shards taken over this long after its last renewal. Default 10,000.
   */
  readonly leaseTtlMs?: number;
  /**
   * How often a member renews its leases, heartbeats, looks at the membership and rebalances, ms.
   * Default 1,000 (at most TTL / 3; five times as often while it holds fewer shards than its share).
   */
  readonly rebalanceMs?: number;
  /**
   * `"auto"` (default): the shard's checkpoint moves after each delivered page, when the next event is
   * asked for. `"manual"`: only {@link GroupSubscription.checkpoint} moves it.
   */
  readonly ack?: AckMode;
  /** Events read per page. Default 1,000. */
  readonly pageSize?: number;
  /** Ends the membership (like `close()`) when aborted. */
  readonly signal?: AbortSignal;
}

/** A member of a consumer group: iterate it with `for await`; `close()` hands its shards over. */
export interface GroupSubscription extends AsyncIterable<StoredEvent> {
  readonly group: string;
  readonly member: string;
  /** The shards this member holds the lease of now (confirmed renewed within the last TTL), ascending. */
  shards(): number[];
  /**
   * Records, for every shard held, the position of the last event delivered (that event included).
   * Needed with `ack: "manual"`; with `"auto"` it checkpoints the page being delivered early.
   *
   * Rejects with the coordinator's classified error (an `AdapterError` subclass: `TransientError`
   * for a timeout, `AdapterShutdownError`, …) when a write failed: the positions of the shards whose
   * write failed are not recorded (every shard is still tried; the first error is the one thrown), and
   * calling it again retries them. A shard no longer held is skipped, not an error: one whose lease was
   * lost (refused by the backend, or gone a whole TTL unrenewed by this member's clock, when nothing
   * is written for it) or handed over. Its events after its last recorded position are delivered again,
   * to the member that holds it next.
   *
   * The automatic checkpoints of `ack: "auto"` never reject anything: a failed one is logged (warn,
   * `"group: checkpoint failed"`) and retried by the next page's checkpoint of that shard, or carried by
   * its release; if neither lands (the member dies), the next owner redelivers from the last position
   * recorded.
   */
  checkpoint(): Promise<void>;
  /**
   * Stops the iteration, checkpoints (auto: every event delivered so far counts as processed, the one
   * in hand included), releases the leases and leaves the group. Idempotent. Leaving a `for await`
   * loop (`break`, an exception) calls it. A lease that went a whole TTL unrenewed by this member's
   * clock is released without a position: its events after the last checkpoint are delivered again.
   * It does not reject: a failed release or leave is logged, and the lease expires after its TTL.
   */
  close(): Promise<void>;
}

/** What a member needs from its reader. */
export interface GroupSource {
  readonly adapter: Adapter;
  readonly coordinator: GroupCoordinator;
  /** The current shard set (refreshed from the backend when discovered). */
  shardIds(): Promise<number[]>;
  readonly logger: Logger;
  /** Bound on each coordinator call, ms. */
  readonly timeoutMs: number;
  /** Aborted when the reader closes. */
  readonly signal: AbortSignal;
  /** Called once the member has closed, so the reader lets go of it. */
  readonly closed?: (member: GroupSubscription) => void;
}

const NAME = /^[\x21-\x7a|~]{1,200}$/; // "!" to "~" but "{" and "}", which backends use as key tags

function check(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const chosen = value ?? fallback;
  if (!(Number.isFinite(chosen) && chosen >= min && chosen <= max)) {
    throw new ConfigError(field, `must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return chosen;
}

/** The validated settings of a member; throws `ConfigError` naming the bad option. */
export function groupSettings(options: GroupSubscribeOptions): {
  ack: AckMode;
  ttl: number;
  rebalance: number;
  pageSize: number;
} {
  if (typeof options !== "object" || options === null) throw new ConfigError("options", "must be an object");
  if (typeof options.group !== "string" || !NAME.test(options.group))
    throw new ConfigError(
      "group",
      'must be 1 to 200 printable ASCII characters other than space, "{" and "}"',
    );
  if (typeof options.member !== "string" || !NAME.test(options.member))
    throw new ConfigError(
      "member",
      'must be 1 to 200 printable ASCII characters other than space, "{" and "}"',
    );
  const ack = options.ack ?? "auto";
  if (ack !== "auto" && ack !== "manual") throw new ConfigError("ack", 'must be "auto" or "manual"');
  const ttl = check("leaseTtlMs", options.leaseTtlMs, 10_000, 100, 3_600_000);
  const rebalance = check("rebalanceMs", options.rebalanceMs, 1_000, 10, 3_600_000);
  const pageSize = check("pageSize", options.pageSize, 1_000, 1, 100_000);
  if (!Number.isInteger(pageSize)) throw new ConfigError("pageSize", "must be an integer");
  return { ack, ttl, rebalance, pageSize };
}
