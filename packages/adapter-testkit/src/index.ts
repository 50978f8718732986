/**
 * `@netmesh/adapter-testkit`: the conformance suite for `@netmesh` adapters. Call
 * {@link runAdapterConformance} in a vitest file with a factory for your adapter; see the README,
 * "Writing an adapter".
 * @packageDocumentation
 */
export type { ConformanceCase } from "./case.js";
export { conformanceCases } from "./conformance-cases.js";
export {
  DEFAULT_MAX_EVENT_BYTES,
  MIN_MAX_EVENT_BYTES,
  describeFeatures,
  resolveFeatures,
} from "./options.js";
export type { AdapterFeatures, AdapterTestContext, ConformanceOptions, ResolvedFeatures } from "./options.js";
export { runAdapterConformance } from "./run.js";
export { TestBatch, TestProducer, randomProducer } from "./test-batch.js";
export type { ExpectedEvent } from "./test-batch.js";
