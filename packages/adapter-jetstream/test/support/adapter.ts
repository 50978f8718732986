import type { Batch, StoredEvent } from "@netmesh/core/adapter";
import { silentLogger } from "@netmesh/core/adapter";
import { JetStreamAdapter, type JetStreamAdapterOptions } from "../../src/index.js";
import { type LogLine, NATS_URL, recordingLogger } from "./nats.js";

/** An initialised adapter on the shared server (unless `url` says otherwise), with a log to inspect. */
export async function readyAdapter(
  prefix: string,
  options: Partial<JetStreamAdapterOptions> = {},
  log?: LogLine[],
): Promise<JetStreamAdapter> {
  const adapter = new JetStreamAdapter({ url: NATS_URL, prefix, ...options } as JetStreamAdapterOptions);
  await adapter.init({ logger: log === undefined ? silentLogger : recordingLogger(log) });
  return adapter;
}

/** Every event of a shard, following `nextId` with pages of `limit`. */
export async function readAll(
  adapter: JetStreamAdapter,
  shard: number,
  limit = 1000,
): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await adapter.pollShard(shard, cursor, limit);
    events.push(...page.events);
    if (page.nextId !== undefined) cursor = page.nextId;
    if (!page.hasMore) return events;
  }
  throw new Error("readAll: paging did not end");
}

/** Expects `events` to be exactly the events of `batches`, in order, each message id once. */
export function expectExactly(events: readonly StoredEvent[], batches: readonly Batch[]): string | undefined {
  const expected = batches.flatMap((batch) =>
    batch.events.map((json, i) => ({ json, id: batch.messageId(i) })),
  );
  if (events.length !== expected.length) return `read ${events.length} events, expected ${expected.length}`;
  for (const [i, event] of events.entries()) {
    if (event.messageId !== expected[i]!.id)
      return `event ${i}: message id ${event.messageId}, expected ${expected[i]!.id}`;
    if (event.json !== expected[i]!.json)
      return `event ${i}: json ${event.json}, expected ${expected[i]!.json}`;
  }
  return undefined;
}
