import type { Cluster, Redis } from "ioredis";
import { duplicateOf } from "./duplicate.js";

/**
 * The pub/sub side of the group coordinator's `watch`: the group script publishes on a group's channel
 * when a member joins or leaves or a lease changes holder, and this relays it to the watchers of that
 * group. One subscriber connection (a duplicate of the adapter's client, so the same server, options
 * and credentials) is opened at the first watch and closed by {@link GroupChanges.close}. What is
 * published while it is not subscribed (before the subscription landed, during a reconnect) goes
 * unreported: members still rebalance on their timer.
 */
export class GroupChanges {
  private subscriber: Redis | Cluster | undefined;
  private readonly watchers = new Map<string, Set<() => void>>();
  /** Per channel, its SUBSCRIBE under way or done (settled either way). */
  private readonly subscribed = new Map<string, Promise<void>>();

  /** Calls `listener` on each message of `channel` until the returned function is called. */
  watch(client: Redis | Cluster, channel: string, listener: () => void): () => void {
    const subscriber = this.open(client);
    let set = this.watchers.get(channel);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(channel, set);
      this.subscribed.set(
        channel,
        subscriber.subscribe(channel).then(
          () => undefined,
          () => undefined, // unreported changes: the members' ticks cover them
        ),
      );
    }
    const entry = () => listener();
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size > 0 || this.watchers.get(channel) !== set) return;
      this.watchers.delete(channel);
      this.subscribed.delete(channel);
      subscriber.unsubscribe(channel).catch(() => {});
    };
  }

  /** Resolves once the subscription of `channel` (if any) landed, so later changes are reported. */
  async ready(channel: string): Promise<void> {
    await this.subscribed.get(channel);
  }

  /** Closes the subscriber connection; the watchers hear nothing more. */
  close(): void {
    this.watchers.clear();
    this.subscribed.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private open(client: Redis | Cluster): Redis | Cluster {
    if (this.subscriber !== undefined) return this.subscriber;
    const subscriber = duplicateOf(client);
    // A connection error is the client's to retry (it resubscribes on reconnect); it must not throw.
    subscriber.on("error", () => {});
    subscriber.on("message", (channel: string) => {
      for (const listener of [...(this.watchers.get(channel) ?? [])]) listener();
    });
    this.subscriber = subscriber;
    return subscriber;
  }
}
