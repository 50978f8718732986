import type { Logger } from "../contract/logger.js";
import { nowMicros } from "../ingest/clock.js";
import { ScalingError } from "../errors.js";
import { reduceHash } from "./routing.js";
import { SlotTable } from "../scaling/slot-table.js";
import type { Shard } from "./shard.js";

/** A change of the shard set, as told to `EventBus.onTopologyChange` listeners. */
export interface TopologyEvent {
  /** `added`: active and routable; `draining`: no longer routed, sending what it holds; `removed`: gone. */
  readonly type: "added" | "draining" | "removed";
  /** The shard concerned. */
  readonly shard: number;
  /** Who asked: the scaling monitor or an operator. */
  readonly reason: "auto" | "manual";
  /** Active shards after the change. */
  readonly activeShards: number;
}

/** Listener of {@link TopologyEvent}s. */
export type TopologyListener = (event: TopologyEvent) => void;

/** Largest shard id; 65,535 is reserved. */
const MAX_SHARD_ID = 65_534;

/** Counters of shards that were removed, so bus totals stay exact after scale-down. */
export interface RetiredCounters {
  ingested: number;
  dispatched: number;
  dropped: number;
  batches: number;
  shards: number;
}

/**
 * The shard set and how events are routed onto it. Static mode: shards 0..n−1 and multiply-shift over
 * the key's hash. Dynamic mode: shards come and go; keyed events follow a {@link SlotTable} (a key stays
 * on its shard until that slot moves), unkeyed events go to the least-loaded active shards.
 *
 * Every change is fenced, so per-key order survives it: events accepted after the change are held
 * back until every shard has stored (or dropped) what it accepted before, and every shard's next
 * timestamp is raised above all timestamps handed out before.
 */
export class Topology {
  private readonly live = new Map<number, Shard>();
  private readonly fixed: Shard[] | undefined;
  private readonly slots: SlotTable<Shard> | undefined;
  private unkeyedTargets: Shard[] = [];
  private nextId: number;
  private readonly listeners = new Set<TopologyListener>();
  private readonly draining = new Map<number, Promise<void>>();
  /** Totals of removed shards. */
  readonly retired: RetiredCounters = { ingested: 0, dispatched: 0, dropped: 0, batches: 0, shards: 0 };

  constructor(
    private readonly create: (id: number) => Shard,
    initialShards: number,
    readonly dynamic: boolean,
    private readonly logger: Logger,
  ) {
    const initial = Array.from({ length: initialShards }, (_, id) => create(id));
    for (const shard of initial) {
      shard.state = "active";
      shard.activatedAt = Number.NEGATIVE_INFINITY; // boot shards are never "warming up"
      this.live.set(shard.id, shard);
    }
    this.nextId = initialShards;
    this.fixed = dynamic ? undefined : initial;
    this.slots = dynamic ? new SlotTable(initial) : undefined;
    this.unkeyedTargets = initial;
  }

  /** The shard an event goes to, or undefined when no shard is active. */
  route(hash: number, keyed: boolean): Shard | undefined {
    if (this.fixed !== undefined) return this.fixed[reduceHash(hash, this.fixed.length)];
    if (keyed) return this.slots!.route(hash);
    const targets = this.unkeyedTargets;
    return targets.length === 0 ? undefined : targets[reduceHash(hash, targets.length)];
  }

  /** Live shards (provisioning, active and draining), by ascending id. */
  shards(): Shard[] {
    return [...this.live.values()].sort((a, b) => a.id - b.id);
  }

  /** Active shards, by ascending id. */
  active(): Shard[] {
    return this.shards().filter((shard) => shard.state === "active");
  }

  /** Sets the shards unkeyed events are spread over (the least loaded, chosen by the monitor). */
  setUnkeyedTargets(shards: readonly Shard[]): void {
    const active = shards.filter((shard) => shard.state === "active");
    if (active.length > 0) this.unkeyedTargets = active;
  }

  /** Adds one active shard (dynamic mode). Its pump exists before it becomes routable. */
  add(reason: TopologyEvent["reason"]): Shard {
    if (this.slots === undefined)
      throw new ScalingError("dynamic-scaling-disabled", "the bus was created without `scaling`");
    if (this.nextId > MAX_SHARD_ID)
      throw new ScalingError("shard-ids-exhausted", "every shard id has been used");
    const shard = this.create(this.nextId++);
    this.fence([shard]);
    shard.state = "active";
    shard.activatedAt = performance.now();
    this.live.set(shard.id, shard);
    this.slots.add(shard);
    this.unkeyedTargets = this.active();
    this.emit({ type: "added", shard: shard.id, reason, activeShards: this.unkeyedTargets.length });
    return shard;
  }

  /**
   * Stops routing to an active shard, lets its pump send everything it holds, then removes it.
   * Resolves once it is removed (at once for a shard already draining).
   */
  drain(id: number, reason: TopologyEvent["reason"]): Promise<void> {
    const pending = this.draining.get(id);
    if (pending !== undefined) return pending;
    const shard = this.live.get(id);
    if (shard === undefined || shard.state !== "active" || this.slots === undefined) return Promise.resolve();
    const remaining = this.active().filter((other) => other !== shard);
    if (remaining.length === 0) throw new RangeError("cannot drain the last active shard");
    this.fence([]);
    shard.state = "draining";
    this.slots.remove(shard, remaining);
    this.unkeyedTargets = remaining;
    this.emit({ type: "draining", shard: id, reason, activeShards: remaining.length });
    shard.pump.stop();
    const removed = shard.pump.done.then(() => {
      shard.state = "stopped";
      this.live.delete(id);
      this.draining.delete(id);
      this.retired.ingested += shard.accepted;
      this.retired.dispatched += shard.dispatched;
      this.retired.dropped += shard.dropped;
      this.retired.batches += shard.batches;
      this.retired.shards++;
      this.emit({ type: "removed", shard: id, reason, activeShards: this.active().length });
    });
    this.draining.set(id, removed);
    return removed;
  }

  /**
   * The earliest insertion timestamp an event not stored yet can carry, on any shard: queued, in
   * flight, or, while `accepting`, accepted from now on (on a live shard, or on one added later, whose
   * timestamps start above every shard's). An insertion-ordered poll returns nothing from it on: such
   * an event could still be stored before the events it precedes are read.
   */
  readWatermark(accepting: boolean): number {
    // Once ingest is closed no event is accepted any more: only the pending ones can still be stored.
    const now = accepting ? nowMicros() : Number.POSITIVE_INFINITY;
    let earliest = Number.POSITIVE_INFINITY;
    for (const shard of this.shards()) earliest = Math.min(earliest, shard.unstoredFrom(now));
    return earliest;
  }

  /** Registers a listener; returns the function that removes it. */
  onChange(listener: TopologyListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Holds back every shard's events accepted from now on (and all of `joining`'s) until every live
   * shard has settled what it accepted before, and raises all timestamps above those handed out so far.
   */
  private fence(joining: readonly Shard[]): void {
    const before = [...this.live.values()];
    const released = Promise.all(before.map((shard) => shard.pump.settle(shard.accepted)));
    let latest = 0;
    for (const shard of before) latest = Math.max(latest, shard.lastTimestamp);
    for (const shard of [...before, ...joining]) {
      shard.pump.hold(released);
      shard.lastTimestamp = Math.max(shard.lastTimestamp, latest);
    }
  }

  private emit(event: TopologyEvent): void {
    this.logger.info({ ...event }, `shard ${event.type}`);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error }, "topology listener threw");
      }
    }
  }
}
