import { ListShardsCommand, type Shard } from "@aws-sdk/client-kinesis";
import type { Client } from "./client.js";
import { hashKeyOf } from "./hash-keys.js";

/** One Kinesis shard in a bus shard's lineage. */
export interface Link {
  readonly shardId: string;
  /** First sequence number of the shard. */
  readonly start: bigint;
  /** Last sequence number, once the shard is closed (split or merged); `undefined` while open. */
  readonly end: bigint | undefined;
}

/** Pages of `ListShards` one refresh may read (1,000 shards each): a bound, far above real streams. */
const MAX_LIST_PAGES = 100;

/**
 * The stream's shards, listed with `ListShards` (closed ones included, within retention) and cached;
 * {@link Lineage.chainFor} turns them into the ordered chain of Kinesis shards that held one bus
 * shard's hash key: oldest ancestor first, the open shard last. Reading a bus shard means reading its
 * chain in that order, each closed shard to its end before its child (as the KCL does).
 */
export class Lineage {
  private shards: readonly Shard[] | undefined;
  private listing: Promise<readonly Shard[]> | undefined;

  constructor(
    private readonly client: Client,
    private readonly streamName: string,
  ) {}

  /** Lists the shards again (concurrent callers share one listing). */
  refresh(signal?: AbortSignal): Promise<readonly Shard[]> {
    this.listing ??= this.list(signal).finally(() => {
      this.listing = undefined;
    });
    return this.listing;
  }

  /** The chain of `busShard`, from the cached listing unless `fresh` (or nothing is cached yet). */
  async chainFor(busShard: number, fresh = false, signal?: AbortSignal): Promise<Link[]> {
    const shards = fresh || this.shards === undefined ? await this.refresh(signal) : this.shards;
    return chainOf(shards, hashKeyOf(busShard));
  }

  private async list(signal?: AbortSignal): Promise<readonly Shard[]> {
    const found: Shard[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const input = token === undefined ? { StreamName: this.streamName } : { NextToken: token };
      const output = await this.client.call(
        `ListShards of stream "${this.streamName}"`,
        signal,
        (sdk, options) => sdk.send(new ListShardsCommand(input), options),
      );
      found.push(...(output.Shards ?? []));
      token = output.NextToken;
      if (token === undefined) break;
    }
    this.shards = found;
    return found;
  }
}

function contains(shard: Shard, key: bigint): boolean {
  const range = shard.HashKeyRange;
  if (range?.StartingHashKey === undefined || range.EndingHashKey === undefined) return false;
  return BigInt(range.StartingHashKey) <= key && key <= BigInt(range.EndingHashKey);
}

function toLink(shard: Shard): Link {
  const range = shard.SequenceNumberRange;
  return {
    shardId: shard.ShardId ?? "",
    start: BigInt(range?.StartingSequenceNumber ?? "0"),
    end: range?.EndingSequenceNumber === undefined ? undefined : BigInt(range.EndingSequenceNumber),
  };
}

/**
 * The shards whose hash-key range holds `key`, in lineage order: from the open one back through the
 * parent (of a split) or the parent holding the key (of a merge) while that ancestor is still listed.
 * Shards holding the key that the walk does not reach (an unusual listing) are placed by their first
 * sequence number, which grows from parent to child.
 */
export function chainOf(shards: readonly Shard[], key: bigint): Link[] {
  const holding = shards.filter((shard) => contains(shard, key));
  const byId = new Map(holding.map((shard) => [shard.ShardId, shard]));
  const open = holding.find((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined);
  const chain: Shard[] = [];
  const seen = new Set<string | undefined>();
  for (let shard = open; shard !== undefined && !seen.has(shard.ShardId); ) {
    seen.add(shard.ShardId);
    chain.unshift(shard);
    shard = byId.get(shard.ParentShardId) ?? byId.get(shard.AdjacentParentShardId);
  }
  const rest = holding.filter((shard) => !seen.has(shard.ShardId));
  if (rest.length === 0) return chain.map(toLink);
  return [...rest, ...chain].map(toLink).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}
