import {
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  MergeShardsCommand,
  type Shard,
  SplitShardCommand,
} from "@aws-sdk/client-kinesis";
import { type ShardPage, compareIds } from "@netmesh/core/adapter";
import { describe, expect, it } from "vitest";
import { hashKeyOf } from "../src/index.js";
import { Producer, events, live } from "./support/batches.js";
import { readAll, useKinesis } from "./support/helpers.js";

const kinesis = useKinesis("reshard");

async function shards(streamName: string): Promise<Shard[]> {
  return (await kinesis.admin.send(new ListShardsCommand({ StreamName: streamName }))).Shards ?? [];
}

async function waitActive(streamName: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { StreamDescriptionSummary } = await kinesis.admin.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    if (StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`stream ${streamName} did not become ACTIVE`);
}

/** The open shard holding bus shard `busShard`'s hash key. */
async function openShardOf(streamName: string, busShard: number): Promise<Shard> {
  const key = hashKeyOf(busShard);
  const open = (await shards(streamName)).find(
    (shard) =>
      shard.SequenceNumberRange?.EndingSequenceNumber === undefined &&
      BigInt(shard.HashKeyRange!.StartingHashKey!) <= key &&
      key <= BigInt(shard.HashKeyRange!.EndingHashKey!),
  );
  if (open === undefined) throw new Error(`no open shard holds bus shard ${busShard}`);
  return open;
}

describe("resharding", () => {
  it("reads continue across split and merge: warm readers, followers, fresh readers and cold cursors on both sides", async () => {
    const writer = await kinesis.ready({ shardCount: 2 });
    const stream = writer.settings.streamName;
    const producer = new Producer();
    const before = producer.batch(0, events("before", 20));
    await writer.onBatch(before, live());
    const wroteAt = Date.now();
    await writer.onBatch(producer.batch(1, events("neighbour", 5)), live());

    // A warm reader at the parent's end (the writer itself: it knows where it wrote, so its next read
    // sees the child at once), and a follower of another instance waiting there.
    const warm = writer;
    const first = await readAll(warm, 0);
    expect(first.map((event) => event.json)).toEqual(before.events);
    const controller = new AbortController();
    const followed: ShardPage[] = [];
    const watcher = await kinesis.ready({ streamName: stream });
    const timeout = setTimeout(() => controller.abort(), 10_000);
    const follower = (async () => {
      let seen = 0;
      for await (const page of watcher.readShard(0, undefined, { signal: controller.signal, limit: 7 })) {
        followed.push(page);
        seen += page.events.length;
        if (seen >= 60) controller.abort();
      }
    })();

    // kinesalite stamps iterators with whole seconds: the warm reader's iterator points one second past
    // its last record. Closing the parent a second later still makes its next read at the parent's end
    // an empty page rather than the end of the shard (Kinesis itself reports the end): the writer's own
    // hint (it stored the next records in the child) must carry the warm reader on.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.floor(wroteAt / 1_000) * 1_000 + 2_050 - Date.now()),
    );
    // Split the parent of bus shard 0 so that its hash key moves to the upper child, then write more.
    const parent = await openShardOf(stream, 0);
    await kinesis.admin.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: parent.ShardId!,
        NewStartingHashKey: (hashKeyOf(0) - 1000n).toString(),
      }),
    );
    await waitActive(stream);
    const child = await openShardOf(stream, 0);
    expect(child.ParentShardId).toBe(parent.ShardId);
    const middle = producer.batch(0, events("middle", 20));
    await writer.onBatch(middle, live());
    // The retry of a batch stored before the split lands in the child: read once all the same.
    const retrier = await kinesis.ready({ streamName: stream });
    await retrier.onBatch(before, live());

    // Merge the child with its sibling: bus shard 0 moves into the merged shard.
    const sibling = (await shards(stream)).find(
      (shard) => shard.ParentShardId === parent.ShardId && shard.ShardId !== child.ShardId,
    )!;
    const [lower, upper] =
      BigInt(sibling.HashKeyRange!.StartingHashKey!) < BigInt(child.HashKeyRange!.StartingHashKey!)
        ? [sibling, child]
        : [child, sibling];
    await kinesis.admin.send(
      new MergeShardsCommand({
        StreamName: stream,
        ShardToMerge: lower.ShardId!,
        AdjacentShardToMerge: upper.ShardId!,
      }),
    );
    await waitActive(stream);
    const merged = await openShardOf(stream, 0);
    expect([merged.ParentShardId, merged.AdjacentParentShardId]).toContain(child.ShardId);
    const after = producer.batch(0, events("after", 20));
    await writer.onBatch(after, live());

    const expected = [...before.events, ...middle.events, ...after.events];
    // The warm reader continues from its cursor at the parent's end, through the child into the merge.
    const continued = await readAll(warm, 0, first.at(-1)!.id, 9);
    expect(continued.map((event) => event.json)).toEqual([...middle.events, ...after.events]);
    const fromWarm = await readAll(warm, 0, undefined, 9);
    expect(fromWarm.map((event) => event.json)).toEqual(expected);
    for (let i = 1; i < fromWarm.length; i++)
      expect(compareIds(fromWarm[i - 1]!.id, fromWarm[i]!.id)).toBe(-1);

    // The follower saw all 60, in order, once.
    await follower;
    clearTimeout(timeout);
    expect(followed.flatMap((page) => page.events.map((event) => event.json))).toEqual(expected);

    // Fresh readers: from the start, and cold from cursors in the parent, the child and the merged shard.
    const fresh = await kinesis.ready({ streamName: stream });
    const all = await readAll(fresh, 0, undefined, 13);
    expect(all.map((event) => event.json)).toEqual(expected);
    for (const at of [5, 19, 20, 33, 39, 45]) {
      const reader = await kinesis.ready({ streamName: stream });
      const rest = await readAll(reader, 0, all[at]!.id, 8);
      expect(
        rest.map((event) => event.json),
        `after event ${at}`,
      ).toEqual(expected.slice(at + 1));
    }
    // The neighbouring bus shard is untouched.
    expect((await readAll(fresh, 1)).map((event) => event.json)).toEqual(events("neighbour", 5));
  });
});
