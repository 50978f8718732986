/**
 * `@netmesh/core/adapter`: the stable contract for adapter authors. Adapter packages import from this
 * entry point only, never from core's internals.
 * @module @netmesh/core/adapter
 */
export { ADAPTER_SPEC_VERSION } from "./contract/adapter.js";
export type {
  Adapter,
  AdapterContext,
  ReadShardOptions,
  ShardPage,
  StoredEvent,
} from "./contract/adapter.js";
export type { GroupCoordinator } from "./contract/group.js";
export { AdapterBase, MAX_SHARD_ID } from "./contract/adapter-base.js";
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
export { encodeBatchTexts, formatMessageId, parseMessageId } from "./contract/batch.js";
export type {
  Batch,
  BatchBytes,
  BatchResult,
  EventRejection,
  EventRejectionReason,
  MessageIdParts,
} from "./contract/batch.js";
export { capabilityProblems, describeCapabilities } from "./contract/capabilities.js";
export type { AdapterCapabilities, DedupMode, PayloadForm } from "./contract/capabilities.js";
export { compareIds, idFormat } from "./contract/ids.js";
export type { IdFormat } from "./contract/ids.js";
export { silentLogger } from "./contract/logger.js";
export type { LogMethod, Logger } from "./contract/logger.js";
export { NetmeshError } from "./contract/netmesh-error.js";
export { redactUrl } from "./contract/redact.js";
