/**
 * `@netmesh/core/adapter`: the stable contract for adapter authors. Adapter packages import from this
 * entry point only, never from core's internals.
 * @packageDocumentation
 */
export { ADAPTER_SPEC_VERSION } from "./contract/adapter.js";
export type { Adapter, AdapterContext, ShardPage, StoredEvent } from "./contract/adapter.js";
export {
  AdapterError,
  AdapterShutdownError,
  BackendBackpressureError,
  ConnectionError,
  FatalError,
  SerializationError,
  TransientError,
  adapterErrorKind,
  isAdapterError,
  isRetryableAdapterError,
} from "./contract/adapter-errors.js";
export type { AdapterErrorCode, AdapterErrorKind } from "./contract/adapter-errors.js";
export { formatMessageId, parseMessageId } from "./contract/batch.js";
export type { Batch, MessageIdParts } from "./contract/batch.js";
export { silentLogger } from "./contract/logger.js";
export type { LogMethod, Logger } from "./contract/logger.js";
export { NetmeshError } from "./contract/netmesh-error.js";
export { redactUrl } from "./contract/redact.js";
