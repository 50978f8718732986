import type { ShardPage } from "../contract/adapter.js";
import { sleep } from "../lifecycle/timers.js";
import type { Owned } from "./group-leases.js";
import type { GroupSource } from "./group-options.js";

/**
 * Reads an owned shard from its checkpoint until `signal` aborts, handing each page to `queue`, which
 * resolves once the page was delivered (one page at a time). Read errors are logged and retried with
 * a backoff (5 ms doubling to 2 s); an empty poll waits 5 ms doubling to 250 ms.
 */
export async function followShard(
  source: GroupSource,
  group: string,
  owned: Owned,
  pageSize: number,
  signal: AbortSignal,
  queue: (page: ShardPage) => Promise<void>,
): Promise<void> {
  const adapter = source.adapter;
  let position = owned.position;
  let pause = 5;
  while (!signal.aborted) {
    try {
      if (adapter.capabilities.streamingReads && adapter.readShard !== undefined) {
        for await (const page of adapter.readShard(owned.shard, position, { signal, limit: pageSize })) {
          if (page.nextId !== undefined) position = page.nextId;
          await queue(page);
          if (signal.aborted) return;
        }
        return; // a streaming read ends on its own only when the adapter shut down
      }
      const page = await adapter.pollShard(owned.shard, position, pageSize);
      if (page.events.length === 0 && page.nextId === undefined) {
        await sleep(pause, signal);
        pause = Math.min(pause * 2, 250);
        continue;
      }
      pause = 5;
      if (page.nextId !== undefined) position = page.nextId;
      await queue(page);
    } catch (error) {
      if (signal.aborted) return;
      source.logger.warn({ group, shard: owned.shard, err: error }, "group: read failed");
      await sleep(pause, signal);
      pause = Math.min(pause * 2, 2_000);
    }
  }
}
