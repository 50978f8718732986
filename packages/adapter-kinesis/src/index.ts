/**
 * `@netmesh/adapter-kinesis`: a `@netmesh` adapter on AWS Kinesis Data Streams (via
 * `@aws-sdk/client-kinesis` v3). One stream; each bus shard pinned to one Kinesis shard by a fixed
 * `ExplicitHashKey`; `PutRecords` writes that keep per-shard order through partial failures; exact reads
 * despite at-least-once writes (read-side dedup). See the README for layout, record format, limits,
 * costs and errors.
 * @module @netmesh/adapter-kinesis
 */
export { KinesisAdapter } from "./kinesis-adapter.js";
export { DEFAULTS } from "./options.js";
export type {
  ExtraClientConfig,
  KinesisAdapterOptions,
  KinesisCredentials,
  KinesisSettings,
} from "./options.js";
export { KinesisServiceError } from "./classify.js";
export type { CredentialParts, Redactor } from "./redaction.js";
export { hashKeyOf } from "./hash-keys.js";
export {
  HEADER_BYTES,
  PARTITION_KEY_BYTES,
  RECORD_OVERHEAD_BYTES,
  RECORD_VERSION,
  decodeRecord,
  partitionKeyOf,
} from "./record-format.js";
export type { DecodeResult, DecodedRecord } from "./record-format.js";
export type { ReadCounters } from "./shard-log.js";
export type { StreamFacts } from "./stream-setup.js";
export type { WriteCounters } from "./writer.js";
