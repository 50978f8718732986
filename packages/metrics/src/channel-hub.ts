import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  type BatchDispatchedMessage,
  type BatchRetriedMessage,
  DIAGNOSTICS_CHANNELS,
  type DiagnosticsMessage,
  type EventsDroppedMessage,
} from "@netmesh/core";

/** Receives the messages of one bus on one channel. */
export type MessageListener<M> = (message: M) => void;

/**
 * One process-wide subscription to a diagnostics channel, shared by every collector: a message is routed
 * by its `producer` with one map lookup, so N collectors cost one subscriber and one lookup per message,
 * not N subscribers each filtering everything. Core builds a payload only while a channel has
 * subscribers, so the subscription exists only while some collector listens.
 */
export class ChannelRoute<M extends DiagnosticsMessage> {
  private readonly listeners = new Map<string, MessageListener<M>[]>();
  private subscribed = false;

  /** @param name the `node:diagnostics_channel` name. */
  constructor(readonly name: string) {}

  // An arrow function: the very same function object must be given to subscribe and unsubscribe.
  private readonly onMessage = (message: unknown): void => {
    const listeners = this.listeners.get((message as DiagnosticsMessage).producer);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener(message as M);
      } catch {
        // diagnostics_channel rethrows a subscriber's error on the next tick, which would crash the
        // process from inside the bus's pump: a metric is never worth that.
      }
    }
  };

  /** Routes this channel's messages of `producer` to `listener`; returns the function that stops it. */
  add(producer: string, listener: MessageListener<M>): () => void {
    const current = this.listeners.get(producer) ?? [];
    // A new array each time: a message being delivered keeps iterating the array it started with.
    this.listeners.set(producer, [...current, listener]);
    if (!this.subscribed) {
      subscribe(this.name, this.onMessage);
      this.subscribed = true;
    }
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const left = (this.listeners.get(producer) ?? []).filter((entry) => entry !== listener);
      if (left.length > 0) this.listeners.set(producer, left);
      else this.listeners.delete(producer);
      if (this.listeners.size === 0 && this.subscribed) {
        unsubscribe(this.name, this.onMessage);
        this.subscribed = false;
      }
    };
  }

  /** Whether this route holds its channel subscription (for tests and diagnostics). */
  get isSubscribed(): boolean {
    return this.subscribed;
  }

  /** How many listeners are registered, over all producers. */
  get listenerCount(): number {
    let count = 0;
    for (const listeners of this.listeners.values()) count += listeners.length;
    return count;
  }
}

/** The channels the collectors listen to, one shared route each. */
export const routes = {
  batchDispatched: new ChannelRoute<BatchDispatchedMessage>(DIAGNOSTICS_CHANNELS.batchDispatched),
  batchRetried: new ChannelRoute<BatchRetriedMessage>(DIAGNOSTICS_CHANNELS.batchRetried),
  eventsDropped: new ChannelRoute<EventsDroppedMessage>(DIAGNOSTICS_CHANNELS.eventsDropped),
} as const;
