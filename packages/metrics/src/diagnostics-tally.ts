import type { BatchDispatchedMessage, EventsDroppedMessage } from "@netmesh/core";
import { routes } from "./channel-hub.js";

/** The retry reasons core publishes (`BatchRetriedMessage.reason`); anything else counts as `"other"`. */
export const RETRY_REASONS = Object.freeze([
  "transient",
  "connection",
  "backpressure",
  "timeout",
  "other",
] as const);

/** A value of the `reason` label of `retries_total`. */
export type RetryReason = (typeof RETRY_REASONS)[number];

/** Whether a drop message reports a whole batch the bus had handed to the adapter (`scope`). */
export function isBatchDrop(message: EventsDroppedMessage): boolean {
  return message.scope === "batch";
}

/** Where dispatched-batch messages go: the route's histograms. */
export type DispatchedListener = (message: BatchDispatchedMessage) => void;

/**
 * What the diagnostics channels tell about one bus while a collector is attached: retries by reason and
 * batches dropped whole (counted here, read at scrape time), and each dispatched batch (handed to the
 * histograms as it happens).
 */
export class DiagnosticsTally {
  /** Retried attempts per reason, every reason present so the exposed series never appear late. */
  readonly retries: Record<RetryReason, number> = {
    transient: 0,
    connection: 0,
    backpressure: 0,
    timeout: 0,
    other: 0,
  };
  /** Batches dropped whole since the tally started. */
  droppedBatches = 0;
  private readonly unsubscribers: (() => void)[];

  /** Starts listening to the messages of `producer`; `onDispatched` sees each batch the adapter stored. */
  constructor(producer: string, onDispatched: DispatchedListener) {
    this.unsubscribers = [
      routes.batchDispatched.add(producer, onDispatched),
      routes.batchRetried.add(producer, (message) => {
        const reason = message.reason;
        if (Object.hasOwn(this.retries, reason)) this.retries[reason as RetryReason]++;
        else this.retries.other++;
      }),
      routes.eventsDropped.add(producer, (message) => {
        if (isBatchDrop(message)) this.droppedBatches++;
      }),
    ];
  }

  /** Stops listening (idempotent). */
  stop(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
  }
}
