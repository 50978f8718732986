import type { Shard } from "../shard/shard.js";
import type { DropReason } from "../stats.js";
import { channels } from "./channels.js";

/** Publishes dropped (and, when they may be stored, uncertain) events, if anyone listens. */
export function publishDrop(
  producer: string,
  shard: number,
  reason: DropReason,
  count: number,
  uncertain: boolean,
  scope: "batch" | "queued" | "event",
): void {
  if (channels.eventsDropped.hasSubscribers) {
    channels.eventsDropped.publish({ producer, shard, reason, count, uncertain, scope });
  }
  if (uncertain && channels.eventsUncertain.hasSubscribers) {
    channels.eventsUncertain.publish({ producer, shard, reason, count });
  }
}

/** Publishes a shard's backpressure state change, if anyone listens. */
export function publishBackpressure(producer: string, shard: Shard, state: "engaged" | "released"): void {
  if (!channels.backpressure.hasSubscribers) return;
  channels.backpressure.publish({
    producer,
    shard: shard.id,
    state,
    queued: shard.ring.length,
    capacity: shard.ring.capacity,
  });
}
