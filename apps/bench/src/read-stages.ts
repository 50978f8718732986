/**
 * Where the live-tail latency goes: an adapter wrapper that stamps each latency event (by its `n`) at
 * the stages between `bus.ingest` and the subscriber — when the bus hands its batch to `onBatch`
 * (batch wait and dispatch), when `onBatch` resolves (the write's round trip), when the adapter's
 * streaming read yields the page holding it (the backend's wake-up: `XREAD BLOCK`, the JetStream pull,
 * the memory notify), and when the subscriber takes it out of `for await` (the subscription's own
 * scheduling). Used by the latency run only; the stamps cost one clock read per event and stage.
 */
import type { Adapter, Batch, ReadShardOptions, ShardPage } from "@netmesh/core/adapter";
import { percentile } from "./measure.js";

/** Per-event stamps (`performance.now()`), NaN where a stage was not seen. */
export class StageStamps {
  readonly ingest: Float64Array;
  readonly dispatch: Float64Array;
  readonly stored: Float64Array;
  readonly read: Float64Array;
  readonly delivered: Float64Array;

  constructor(readonly count: number) {
    this.ingest = new Float64Array(count).fill(Number.NaN);
    this.dispatch = new Float64Array(count).fill(Number.NaN);
    this.stored = new Float64Array(count).fill(Number.NaN);
    this.read = new Float64Array(count).fill(Number.NaN);
    this.delivered = new Float64Array(count).fill(Number.NaN);
  }
}

/** One stage's spread (ms). */
export interface StageSpread {
  readonly stage: string;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

const N_FIELD = /"n":(\d+)/;

/** The latency event number of a JSON text, or -1 for a warm-up event / anything else. */
function eventNumber(json: string): number {
  if (json.includes('"warm":true')) return -1;
  const match = N_FIELD.exec(json);
  return match === null ? -1 : Number(match[1]);
}

/**
 * Wraps `inner` so its `onBatch` and `readShard` stamp `stamps`; everything else goes straight to it.
 * The wrapper is a Proxy, so the bus sees the adapter's own capabilities and methods.
 */
export function stagedAdapter(inner: Adapter, stamps: StageStamps): Adapter {
  const mark = (into: Float64Array, json: string, at: number) => {
    const n = eventNumber(json);
    if (n >= 0 && n < stamps.count && Number.isNaN(into[n]!)) into[n] = at;
  };
  const onBatch: Adapter["onBatch"] = async (batch: Batch, signal: AbortSignal) => {
    const at = performance.now();
    for (const json of batch.events) mark(stamps.dispatch, json, at);
    const result = await inner.onBatch(batch, signal);
    const done = performance.now();
    for (const json of batch.events) mark(stamps.stored, json, done);
    return result;
  };
  const readShard = async function* (
    shard: number,
    afterId: string | undefined,
    options: ReadShardOptions,
  ): AsyncIterable<ShardPage> {
    for await (const page of inner.readShard!(shard, afterId, options)) {
      const at = performance.now();
      for (const event of page.events) mark(stamps.read, event.json, at);
      yield page;
    }
  };
  return new Proxy(inner, {
    get(target, property) {
      if (property === "onBatch") return onBatch;
      if (property === "readShard" && target.readShard !== undefined) return readShard;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function spread(stage: string, from: Float64Array, to: Float64Array): StageSpread | undefined {
  const deltas: number[] = [];
  for (let i = 0; i < from.length; i++) {
    const d = to[i]! - from[i]!;
    if (Number.isFinite(d)) deltas.push(d);
  }
  if (deltas.length === 0) return undefined;
  const sorted = Float64Array.from(deltas).sort();
  return {
    stage,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

/** The spread of each stage, in pipeline order (a stage the adapter has not, such as a streaming read, is left out). */
export function stageSpreads(stamps: StageStamps): StageSpread[] {
  return [
    spread("ingest → onBatch (batch wait, dispatch)", stamps.ingest, stamps.dispatch),
    spread("onBatch → stored (write round trip)", stamps.dispatch, stamps.stored),
    spread("stored → read yields (backend wake-up)", stamps.stored, stamps.read),
    spread("onBatch → read yields", stamps.dispatch, stamps.read),
    spread("read yields → subscriber (subscription)", stamps.read, stamps.delivered),
  ].filter((s) => s !== undefined);
}
