import type { IngestOptions } from "@netmesh/core";
import type { PlaygroundEvent } from "./events.js";
import type { StreamLedger } from "./ledger.js";

/**
 * How a step's events reach the bus, mirroring how a real producer would hand them over:
 * - `single`: one event as it happens (`ingest` / `ingestOrWait`);
 * - `burst`: a network read's worth of streamed fragments at once (`ingestMany` / `ingestManyOrWait`);
 * - `replay`: fragments re-sent from a response cache, serialized once with `prepare` and handed
 *   over with `ingestRaw`.
 */
export type StepKind = "single" | "burst" | "replay";

/** A unit of emission: consecutive events of one stream, handed to the bus together. */
export interface Step {
  readonly kind: StepKind;
  /** The ledger stream the events belong to; their `seq`s continue it without a gap. */
  readonly stream: StreamLedger;
  /** `{ key: sessionId }`, one object per session (the bus recommends reusing it); none for metrics. */
  readonly options: IngestOptions | undefined;
  /** The events, in `seq` order; never empty. */
  readonly events: readonly PlaygroundEvent[];
}
