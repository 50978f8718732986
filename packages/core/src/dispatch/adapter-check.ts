import type { Adapter, AdapterContext, ShardPage } from "../contract/adapter.js";
import { ADAPTER_SPEC_VERSION } from "../contract/adapter.js";
import type { Batch } from "../contract/batch.js";
import { type AdapterCapabilities, capabilityProblems } from "../contract/capabilities.js";
import type { Logger } from "../contract/logger.js";
import { AdapterCompatibilityError } from "../errors.js";

const METHODS = ["init", "onBatch", "flush", "shutdown", "pollShard", "isHealthy"] as const;

/**
 * What a version-1 adapter declares: no capabilities, `onBatch` all or nothing. The bus still runs
 * it (see {@link acceptAdapter}); the v2 batch is a superset of the v1 batch, so it needs no change.
 */
interface AdapterV1 {
  readonly name: string;
  readonly specVersion: 1;
  init(context: AdapterContext): Promise<void>;
  onBatch(batch: Batch, signal: AbortSignal): Promise<void>;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  pollShard(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage>;
  isHealthy(): Promise<boolean>;
}

/**
 * What a v1 adapter is taken to be: the weakest honest reading of the v1 contract. Dedup is assumed
 * off (v1 made it optional and did not say), so the bus warns that retries may duplicate.
 */
const V1_CAPABILITIES: AdapterCapabilities = Object.freeze({
  readable: true,
  dedup: "none",
  dedupWindowMs: 0,
  persistent: false,
  ordering: "shard",
  maxEventBytes: Number.POSITIVE_INFINITY,
  streamingReads: false,
  listsShards: false,
});

/** Wraps a v1 adapter as a v2 one: same methods, conservative capabilities. */
function upgradeV1(adapter: AdapterV1): Adapter {
  return {
    name: adapter.name,
    specVersion: ADAPTER_SPEC_VERSION,
    capabilities: V1_CAPABILITIES,
    init: (context) => adapter.init(context),
    onBatch: (batch, signal) => adapter.onBatch(batch, signal),
    flush: () => adapter.flush(),
    shutdown: () => adapter.shutdown(),
    pollShard: (shard, afterId, limit) => adapter.pollShard(shard, afterId, limit),
    isHealthy: () => adapter.isHealthy(),
  };
}

/**
 * Checks an adapter before it is used: the contract version and the methods. A version-2 adapter is
 * used as it is; a version-1 adapter is wrapped with conservative capabilities (a warning is logged);
 * any other version is refused with {@link AdapterCompatibilityError}.
 */
export function acceptAdapter(candidate: unknown, logger: Logger): Adapter {
  if (typeof candidate !== "object" || candidate === null) {
    throw new AdapterCompatibilityError("adapter must be an object implementing the Adapter contract");
  }
  const adapter = candidate as Partial<Record<string, unknown>>;
  const name = String(adapter.name);
  for (const method of METHODS) {
    if (typeof adapter[method] !== "function") {
      throw new AdapterCompatibilityError(`adapter ${name} has no ${method}() method`);
    }
  }
  if (adapter.specVersion === 1) {
    logger.warn(
      { adapter: name, specVersion: 1 },
      "adapter implements contract v1: running it with conservative capabilities (no dedup, no size limit)",
    );
    return upgradeV1(candidate as AdapterV1);
  }
  if (adapter.specVersion !== ADAPTER_SPEC_VERSION) {
    throw new AdapterCompatibilityError(
      `adapter ${name} implements contract version ${String(adapter.specVersion)}; ` +
        `this bus speaks version ${ADAPTER_SPEC_VERSION} (and runs version 1 adapters)`,
    );
  }
  return candidate as Adapter;
}

/**
 * Checks the capabilities an initialised adapter declares (contract rule 12) and returns them, so the
 * bus holds the values it checked. Warns when dedup is off: a retry after a lost reply may duplicate.
 */
export function checkCapabilities(adapter: Adapter, logger: Logger): AdapterCapabilities {
  const capabilities = adapter.capabilities;
  const problems = capabilityProblems(capabilities);
  if (capabilities?.streamingReads === true && typeof adapter.readShard !== "function") {
    problems.push("capabilities.streamingReads is true but the adapter has no readShard() method");
  }
  if (capabilities?.listsShards === true && typeof adapter.listShards !== "function") {
    problems.push("capabilities.listsShards is true but the adapter has no listShards() method");
  }
  if (problems.length > 0) {
    throw new AdapterCompatibilityError(
      `adapter ${adapter.name} declares invalid capabilities: ${problems.join("; ")}`,
    );
  }
  if (capabilities.dedup === "none" && capabilities.readable) {
    logger.warn(
      { adapter: adapter.name },
      "adapter does not deduplicate: a batch retried after a lost reply may be stored twice",
    );
  }
  return Object.freeze({ ...capabilities });
}
