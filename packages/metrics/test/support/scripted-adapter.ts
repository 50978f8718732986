import {
  AdapterBase,
  type AdapterCapabilities,
  type Batch,
  type BatchResult,
  type ShardPage,
} from "@netmesh/core";

/**
 * What one `onBatch` call does: fail with an error, hang until aborted, store (`"store"`), or store all
 * but the events at the given indices, which it refuses alone (`{ refuse }`).
 */
export type Step = Error | "hang" | "store" | { readonly refuse: readonly number[] };

const CAPABILITIES: AdapterCapabilities = Object.freeze({
  readable: false,
  dedup: "none",
  dedupWindowMs: 0,
  persistent: false,
  ordering: "shard",
  maxEventBytes: Number.POSITIVE_INFINITY,
  streamingReads: false,
  listsShards: false,
  // Like a network adapter: its batches are byte runs, so batch_bytes is observed by default.
  payload: "bytes",
});

/**
 * A write-only adapter with a script: each write takes the next step (failing, hanging, refusing some
 * events or storing), and stores once the script is used up. `AdapterBase` gives it a real adapter's
 * lifecycle around the scripted failures. Named `"memory"`, like the default adapter it stands in for.
 */
export class ScriptedAdapter extends AdapterBase {
  readonly name = "memory";
  readonly capabilities = CAPABILITIES;
  private readonly steps: Step[];
  /** How many times write was called. */
  calls = 0;
  /** Events stored. */
  stored = 0;

  constructor(steps: readonly Step[] = []) {
    super();
    this.steps = [...steps];
  }

  protected async open(): Promise<void> {}

  protected async write(batch: Batch): Promise<BatchResult | undefined> {
    this.calls++;
    const step = this.steps.shift() ?? "store";
    if (step === "hang") return new Promise<undefined>(() => {}); // the bus times it out and aborts
    if (step instanceof Error) throw step;
    if (step === "store") {
      this.stored += batch.size;
      return undefined;
    }
    this.stored += batch.size - step.refuse.length;
    return { rejected: step.refuse.map((index) => ({ index, reason: "refused" as const, message: "test" })) };
  }

  protected async read(): Promise<ShardPage> {
    return { events: [], nextId: undefined, hasMore: false };
  }

  protected async close(): Promise<void> {}
}
