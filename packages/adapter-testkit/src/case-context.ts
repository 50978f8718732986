import {
  ADAPTER_SPEC_VERSION,
  type Adapter,
  type AdapterCapabilities,
  type EventRejection,
  capabilityProblems,
  silentLogger,
} from "@netmesh/core/adapter";
import { expectStoredEvents } from "./expect-events.js";
import { show } from "./show.js";
import {
  type AdapterTestContext,
  type ConformanceOptions,
  MIN_MAX_EVENT_BYTES,
  type ResolvedFeatures,
  resolveFeatures,
} from "./options.js";
import { expectEmptyShard, readShard } from "./read-shard.js";
import { type ExpectedEvent, type TestBatch, TestProducer } from "./test-batch.js";

const METHODS = ["init", "onBatch", "flush", "shutdown", "pollShard", "isHealthy"] as const;
const CAPABILITY_FIELDS = [
  "readable",
  "dedup",
  "dedupWindowMs",
  "persistent",
  "ordering",
  "maxEventBytes",
  "streamingReads",
  "listsShards",
  "payload",
  "readsAheadFrom",
] as const satisfies readonly (keyof AdapterCapabilities)[];

/** How long the clean-up waits for one adapter's `shutdown` before moving on, in ms. */
const CLEANUP_SHUTDOWN_MS = 5_000;

/** Fails unless `value` has the shape of an {@link Adapter} of the supported contract version. */
export function expectAdapterShape(value: unknown): asserts value is Adapter {
  if (typeof value !== "object" || value === null)
    throw new Error(`create() returned ${String(value)}, not an adapter`);
  const adapter = value as Partial<Record<string, unknown>>;
  if (typeof adapter.name !== "string" || adapter.name.length === 0) {
    throw new Error(`the adapter must have a non-empty string name, got ${show(adapter.name)}`);
  }
  if (adapter.specVersion !== ADAPTER_SPEC_VERSION) {
    throw new Error(
      `adapter ${adapter.name} declares specVersion ${show(adapter.specVersion)}; ` +
        `this testkit checks version ${ADAPTER_SPEC_VERSION} (see the migration notes in its README)`,
    );
  }
  for (const method of METHODS) {
    if (typeof adapter[method] !== "function")
      throw new Error(`adapter ${adapter.name} has no ${method}() method`);
  }
  if (typeof adapter.capabilities !== "object" || adapter.capabilities === null) {
    throw new Error(`adapter ${adapter.name} has no capabilities object, got ${show(adapter.capabilities)}`);
  }
}

/** Every problem with an initialised adapter's capabilities, including methods it declares but lacks. */
function problemsOf(adapter: Adapter): string[] {
  const problems = capabilityProblems(adapter.capabilities);
  if (adapter.capabilities.streamingReads === true && typeof adapter.readShard !== "function") {
    problems.push("capabilities.streamingReads is true but readShard() is missing");
  }
  if (adapter.capabilities.listsShards === true && typeof adapter.listShards !== "function") {
    problems.push("capabilities.listsShards is true but listShards() is missing");
  }
  return problems;
}

function snapshot(capabilities: AdapterCapabilities): AdapterCapabilities {
  return { ...capabilities };
}

/** The first field where two capability snapshots differ, described, or `undefined`. */
function capabilityDifference(before: AdapterCapabilities, after: AdapterCapabilities): string | undefined {
  for (const field of CAPABILITY_FIELDS) {
    if (!Object.is(before[field], after[field])) {
      return `field capabilities.${field}: ${show(before[field])} before, ${show(after[field])} now`;
    }
  }
  return undefined;
}

/** What one suite instance learns once and shares between its cases: the adapter's capabilities. */
export class SuiteState {
  /** The capabilities of the first adapter initialised; every later one must declare the same. */
  capabilities: AdapterCapabilities | undefined;
}

/**
 * Everything one case needs: its namespace, adapters made through {@link ConformanceOptions.create}
 * (all shut down when the case ends), producers, and read-back that honours the declared features.
 */
export class CaseContext {
  private readonly adapters: Adapter[] = [];
  private readonly initialised = new Map<Adapter, AdapterCapabilities>();
  private readonly testContext: AdapterTestContext;
  private resolved: ResolvedFeatures | undefined;

  constructor(
    private readonly options: ConformanceOptions,
    private readonly suite: SuiteState,
    caseId: string,
    namespace: string,
  ) {
    this.testContext = Object.freeze({ namespace, caseId });
  }

  /** What the suite checks, from the adapter's capabilities (available once {@link prepare} resolved). */
  get features(): ResolvedFeatures {
    if (this.resolved === undefined) throw new Error("CaseContext.prepare() has not run");
    return this.resolved;
  }

  /** The fault hooks the author supplied. */
  get faults(): NonNullable<ConformanceOptions["faults"]> {
    return this.options.faults ?? {};
  }

  /** Learns the adapter's capabilities (initialising one adapter, the first time in a suite). */
  async prepare(): Promise<void> {
    if (this.suite.capabilities === undefined) await this.ready();
    this.resolved = resolveFeatures(this.suite.capabilities!, this.options.faults);
    if (this.resolved.maxEventBytes < MIN_MAX_EVENT_BYTES) {
      throw new Error(
        `capabilities.maxEventBytes is ${this.resolved.maxEventBytes}: the suite needs events of at least ` +
          `${MIN_MAX_EVENT_BYTES} bytes (its nesting case)`,
      );
    }
  }

  /**
   * Checks what an adapter declares once `init` resolved (contract rule 12): valid, with the methods
   * it promises, and the same as every other adapter `create()` made.
   */
  expectValidCapabilities(adapter: Adapter): void {
    const problems = problemsOf(adapter);
    if (problems.length > 0) {
      throw new Error(
        `adapter ${adapter.name} declares invalid capabilities after init: ${problems.join("; ")}`,
      );
    }
    const current = snapshot(adapter.capabilities);
    if (this.suite.capabilities === undefined) this.suite.capabilities = current;
    const difference = capabilityDifference(this.suite.capabilities, current);
    if (difference !== undefined) {
      throw new Error(`two adapters made by create() declare different capabilities: ${difference}`);
    }
    this.initialised.set(adapter, current);
  }

  /** Fails when an adapter's capabilities changed after its `init` (rule 12). */
  async expectStableCapabilities(): Promise<void> {
    for (const [adapter, atInit] of this.initialised) {
      const difference = capabilityDifference(atInit, adapter.capabilities);
      if (difference !== undefined) {
        throw new Error(`adapter ${adapter.name} changed its capabilities after init: ${difference}`);
      }
    }
  }

  /** A new adapter on this case's namespace, not initialised. */
  async create(): Promise<Adapter> {
    const adapter: unknown = await this.options.create(this.testContext);
    expectAdapterShape(adapter);
    this.adapters.push(adapter);
    return adapter;
  }

  /** A new adapter on this case's namespace, initialised. */
  async ready(): Promise<Adapter> {
    const adapter = await this.create();
    await adapter.init({ logger: silentLogger });
    this.expectValidCapabilities(adapter);
    return adapter;
  }

  /** A new producer (fresh nonce) making bus-shaped batches. */
  producer(): TestProducer {
    return new TestProducer();
  }

  /**
   * `onBatch` with a live (never aborted) signal, as the bus calls it. The suite writes only events
   * the adapter declared it stores, so a refused event fails the case.
   */
  async write(adapter: Adapter, batch: TestBatch): Promise<void> {
    const rejected = await this.writeAllowingRejections(adapter, batch);
    const first = rejected[0];
    if (first !== undefined) {
      throw new Error(
        `onBatch refused event ${first.index} of shard ${batch.shard} (message ${batch.messageId(first.index)}, ` +
          `reason ${show(first.reason)}, ${show(first.message)}): ` +
          `text ${show(batch.events[first.index])}; the suite writes only events within the declared capabilities`,
      );
    }
  }

  /** `onBatch` as in {@link write}, resolving the events refused (checked against rule 2's shape). */
  async writeAllowingRejections(adapter: Adapter, batch: TestBatch): Promise<readonly EventRejection[]> {
    const result: unknown = await adapter.onBatch(batch, new AbortController().signal);
    return rejectionsOf(result, batch);
  }

  /**
   * Checks that `shard` holds exactly `expected`: for a readable adapter by reading it to the end
   * (ordering as declared); for a write-only one by expecting the empty page.
   */
  async expectShard(
    adapter: Adapter,
    shard: number,
    expected: readonly ExpectedEvent[],
    what: string,
  ): Promise<void> {
    if (!this.features.readable) {
      await expectEmptyShard(adapter, shard, undefined, `${what} (write-only adapter)`);
      return;
    }
    const { events } = await readShard(adapter, shard, { expectedAtMost: expected.length });
    expectStoredEvents(events, expected, this.features, `${what}, shard ${shard}`);
  }

  /** Shuts down every adapter this case created (bounded, errors ignored), then calls `reset`. */
  async dispose(): Promise<void> {
    this.initialised.clear();
    await Promise.all(this.adapters.map((adapter) => shutdownQuietly(adapter)));
    this.adapters.length = 0;
    await this.options.reset?.(this.testContext);
  }
}

async function shutdownQuietly(adapter: Adapter): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLEANUP_SHUTDOWN_MS);
    timer.unref();
  });
  try {
    await Promise.race([Promise.resolve().then(() => adapter.shutdown()), expired]);
  } catch {
    // The case has its verdict already; a failing clean-up must not replace it.
  } finally {
    clearTimeout(timer);
  }
}

/** Concatenation of the expected events of several batches, in the order given. */
export function expectedOf(batches: readonly TestBatch[]): ExpectedEvent[] {
  return batches.flatMap((batch) => batch.expected());
}

/**
 * The refused events of an `onBatch` result, after checking its shape (contract rule 2): nothing, or
 * `{ rejected }` with integer indices in range, ascending, each once, and a known reason.
 */
export function rejectionsOf(result: unknown, batch: TestBatch): readonly EventRejection[] {
  if (result === undefined || result === null) return [];
  const where = `onBatch result for shard ${batch.shard} (${batch.size} events)`;
  if (typeof result !== "object")
    throw new Error(`${where}: expected nothing or { rejected }, got ${show(result)}`);
  const rejected = (result as { rejected?: unknown }).rejected;
  if (rejected === undefined) return [];
  if (!Array.isArray(rejected))
    throw new Error(`${where}: field rejected must be an array, got ${show(rejected)}`);
  let previous = -1;
  for (const [i, entry] of (rejected as unknown[]).entries()) {
    const { index, reason } = (entry ?? {}) as { index?: unknown; reason?: unknown };
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= batch.size) {
      throw new Error(
        `${where}: field rejected[${i}].index must be an integer in [0, ${batch.size}), got ${show(index)}`,
      );
    }
    if ((index as number) <= previous) {
      throw new Error(`${where}: field rejected[${i}].index ${index} is not above the previous ${previous}`);
    }
    if (reason !== "tooLarge" && reason !== "invalidText" && reason !== "refused") {
      throw new Error(
        `${where}: field rejected[${i}].reason must be tooLarge, invalidText or refused, got ${show(reason)}`,
      );
    }
    previous = index as number;
  }
  return rejected as EventRejection[];
}
