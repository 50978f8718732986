import { type Adapter, silentLogger } from "@netmesh/core/adapter";
import { expect } from "vitest";
import type { CaseDefinition } from "../case.js";
import { expectedOf } from "../case-context.js";
import { expectAdapterRejection } from "../expect-errors.js";
import type { TestProducer } from "../test-batch.js";

/** Rule 7: after shutdown, `onBatch` and `pollShard` reject with a non-retryable shutdown error. */
async function expectShutDown(adapter: Adapter, producer: TestProducer, when: string): Promise<void> {
  expect(await adapter.isHealthy(), `isHealthy() ${when}`).toBe(false);
  const batch = producer.batch(0, ['{"after":"shutdown"}']);
  const shutdown = { kind: "shutdown", retryable: false } as const;
  const error = await expectAdapterRejection(
    () => adapter.onBatch(batch, new AbortController().signal),
    shutdown,
    `onBatch ${when}`,
  );
  expect(error.code, `onBatch ${when}: error code`).toBe("ADAPTER_SHUTDOWN");
  await expectAdapterRejection(() => adapter.pollShard(0, undefined, 10), shutdown, `pollShard ${when}`);
}

/** Lifecycle: shape, init, health, shutdown (contract rule 7). */
export const lifecycleCases: readonly CaseDefinition[] = [
  {
    id: "lifecycle.shape",
    title: "declares a stable name, specVersion ADAPTER_SPEC_VERSION and the six methods",
    async run(context) {
      // create() already checks the shape; the name must also not change over the adapter's life.
      const adapter = await context.create();
      const name = adapter.name;
      await adapter.init({ logger: silentLogger });
      expect(adapter.name, "name after init").toBe(name);
      await adapter.shutdown();
      expect(adapter.name, "name after shutdown").toBe(name);
    },
  },
  {
    id: "lifecycle.healthy-before-init",
    title: "isHealthy() resolves false before init()",
    async run(context) {
      const adapter = await context.create();
      expect(await adapter.isHealthy(), "isHealthy() before init()").toBe(false);
    },
  },
  {
    id: "lifecycle.init-idempotent",
    title: "init() is idempotent: a second call keeps the adapter healthy and its data intact",
    async run(context) {
      const adapter = await context.ready();
      expect(await adapter.isHealthy(), "isHealthy() after init()").toBe(true);
      const producer = context.producer();
      const first = producer.batch(0, ['{"n":1}', '{"n":2}']);
      await context.write(adapter, first);
      await adapter.init({ logger: silentLogger });
      expect(await adapter.isHealthy(), "isHealthy() after a second init()").toBe(true);
      const second = producer.batch(0, ['{"n":3}']);
      await context.write(adapter, second);
      await context.expectShard(adapter, 0, expectedOf([first, second]), "after a second init()");
    },
  },
  {
    id: "lifecycle.shutdown",
    title: "shutdown() is idempotent; afterwards onBatch and pollShard reject with AdapterShutdownError",
    async run(context) {
      const adapter = await context.ready();
      const producer = context.producer();
      await context.write(adapter, producer.batch(0, ['{"before":"shutdown"}']));
      await adapter.shutdown();
      await adapter.shutdown();
      await expectShutDown(adapter, producer, "after shutdown() (twice)");
      await adapter.shutdown();
      await expectShutDown(adapter, producer, "after a third shutdown()");
    },
  },
  {
    id: "lifecycle.shutdown-before-init",
    title: "shutdown() before init() resolves and leaves the adapter shut down",
    async run(context) {
      const adapter = await context.create();
      await adapter.shutdown();
      await expectShutDown(adapter, context.producer(), "after shutdown() without init()");
    },
  },
];
