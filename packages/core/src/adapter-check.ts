import { ADAPTER_SPEC_VERSION, type Adapter } from "./contract/adapter.js";
import { AdapterCompatibilityError } from "./errors.js";

/** Refuses an adapter that speaks another contract version or lacks a method, before it is used. */
export function checkAdapter(adapter: Adapter): void {
  if (typeof adapter !== "object" || adapter === null) {
    throw new AdapterCompatibilityError("adapter must be an object implementing the Adapter contract");
  }
  if (adapter.specVersion !== ADAPTER_SPEC_VERSION) {
    throw new AdapterCompatibilityError(
      `adapter ${String(adapter.name)} implements contract version ${String(adapter.specVersion)}; ` +
        `this bus speaks version ${ADAPTER_SPEC_VERSION}`,
    );
  }
  for (const method of ["init", "onBatch", "flush", "shutdown", "pollShard", "isHealthy"] as const) {
    if (typeof adapter[method] !== "function") {
      throw new AdapterCompatibilityError(`adapter ${String(adapter.name)} has no ${method}() method`);
    }
  }
}
