import { ADAPTER_SPEC_VERSION, type Adapter, silentLogger } from "@netmesh/core/adapter";
import { expectStoredEvents } from "./expect-events.js";
import type { AdapterTestContext, ConformanceOptions, ResolvedFeatures } from "./options.js";
import { expectEmptyShard, readShard } from "./read-shard.js";
import { type ExpectedEvent, type TestBatch, TestProducer } from "./test-batch.js";

const METHODS = ["init", "onBatch", "flush", "shutdown", "pollShard", "isHealthy"] as const;

/** How long the clean-up waits for one adapter's `shutdown` before moving on, in ms. */
const CLEANUP_SHUTDOWN_MS = 5_000;

/** Fails unless `value` has the shape of an {@link Adapter} of the supported contract version. */
export function expectAdapterShape(value: unknown): asserts value is Adapter {
  if (typeof value !== "object" || value === null)
    throw new Error(`create() returned ${String(value)}, not an adapter`);
  const adapter = value as Partial<Record<string, unknown>>;
  if (typeof adapter.name !== "string" || adapter.name.length === 0) {
    throw new Error("the adapter must have a non-empty string name");
  }
  if (adapter.specVersion !== ADAPTER_SPEC_VERSION) {
    throw new Error(
      `adapter ${adapter.name} declares specVersion ${String(adapter.specVersion)}; ` +
        `this testkit checks version ${ADAPTER_SPEC_VERSION}`,
    );
  }
  for (const method of METHODS) {
    if (typeof adapter[method] !== "function")
      throw new Error(`adapter ${adapter.name} has no ${method}() method`);
  }
}

/**
 * Everything one case needs: its namespace, adapters made through {@link ConformanceOptions.create}
 * (all shut down when the case ends), producers, and read-back that honours the declared features.
 */
export class CaseContext {
  private readonly adapters: Adapter[] = [];
  private readonly testContext: AdapterTestContext;

  constructor(
    private readonly options: ConformanceOptions,
    /** The features in force. */
    readonly features: ResolvedFeatures,
    caseId: string,
    namespace: string,
  ) {
    this.testContext = Object.freeze({ namespace, caseId });
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
    return adapter;
  }

  /** A new producer (fresh nonce) making bus-shaped batches. */
  producer(): TestProducer {
    return new TestProducer();
  }

  /** `onBatch` with a live (never aborted) signal, as the bus calls it. */
  write(adapter: Adapter, batch: TestBatch): Promise<void> {
    return adapter.onBatch(batch, new AbortController().signal);
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
