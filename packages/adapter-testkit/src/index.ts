/**
 * `@netmesh/adapter-testkit`: the conformance suite for `@netmesh` adapters. Call
 * {@link runAdapterConformance} in a vitest file with a factory for your adapter; the suite reads what
 * to check from the adapter's `capabilities`. See the README, "Writing an adapter".
 * @module @netmesh/adapter-testkit
 */
export type { CaseOutcome, ConformanceCase } from "./case.js";
export { conformanceCases } from "./conformance-cases.js";
export { createFaultProxy } from "./fault-proxy.js";
export type { FaultProxy, FaultProxyOptions } from "./fault-proxy.js";
export {
  DEFAULT_MAX_EVENT_BYTES,
  MAX_TESTED_EVENT_BYTES,
  MIN_MAX_EVENT_BYTES,
  resolveFeatures,
} from "./options.js";
export type {
  AdapterTestContext,
  ConformanceOptions,
  FaultHooks,
  ResolvedFeatures,
} from "./options.js";
export { runAdapterConformance } from "./run.js";
export { TestBatch, TestProducer, randomProducer } from "./test-batch.js";
export type { ExpectedEvent } from "./test-batch.js";
export { runGroupConformance } from "./groups/suite.js";
export type { GroupConformanceOptions } from "./groups/suite.js";
export { GroupHarness, balanced, duplicates, tally, waitFor } from "./groups/harness.js";
export type { GroupTimings, TestMember } from "./groups/harness.js";
export { describeGroupAcceptance, runGroupAcceptance, runScaledReader } from "./groups/acceptance.js";
export type {
  GroupAcceptanceFigures,
  GroupAcceptanceOptions,
  GroupAcceptanceSuiteOptions,
} from "./groups/acceptance.js";
export type { JoinChain } from "./groups/acceptance-trace.js";
export { runAcceptanceChild } from "./groups/acceptance-child.js";
export type { AcceptanceRole, ProducerReport } from "./groups/acceptance-child.js";
