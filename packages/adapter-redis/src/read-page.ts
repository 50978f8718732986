import { type Logger, type ShardPage, type StoredEvent, parseMessageId } from "@netmesh/core/adapter";

/** One entry of an XRANGE reply: its id and its flat field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/** The event an entry holds, or why it is not an event this adapter wrote. */
type Parsed = StoredEvent | string;

function parseEntry(shard: number, id: string, fields: readonly string[]): Parsed {
  let json: string | undefined;
  let stamp: string | undefined;
  let messageId: string | undefined;
  // By name, not position: an entry written by another tool may order its fields differently.
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1];
    switch (fields[i]) {
      case "d":
        json = value;
        break;
      case "t":
        stamp = value;
        break;
      case "m":
        messageId = value;
        break;
    }
  }
  if (json === undefined) return 'no "d" (event JSON) field';
  if (stamp === undefined) return 'no "t" (timestamp) field';
  const timestamp = Number(stamp);
  if (stamp.length === 0 || !Number.isFinite(timestamp))
    return `timestamp ${JSON.stringify(stamp)} is not a number`;
  if (messageId === undefined) return 'no "m" (message id) field';
  const parts = parseMessageId(messageId);
  if (parts === undefined) return `message id ${JSON.stringify(messageId)} is malformed`;
  if (parts.shard !== shard) return `message id ${messageId} names shard ${parts.shard}`;
  return { id, shard, timestamp, json, messageId };
}

/**
 * Turns the reply of `XRANGE <stream> (<afterId> + COUNT <limit + 1>` into a page. Only the first `limit`
 * entries are examined; one more was fetched just to know whether more follow. An entry that is not a
 * well-formed event (written by something else, or damaged) is skipped with a warning, and the cursor
 * still moves past it: `nextId` is the last entry *examined*, corrupt or not, so a consumer can never
 * get stuck in front of a bad entry.
 */
export function toPage(
  shard: number,
  entries: readonly StreamEntry[],
  limit: number,
  logger: Logger,
  stream: string,
): ShardPage {
  const examined = Math.min(entries.length, limit);
  const events: StoredEvent[] = [];
  let nextId: string | undefined;
  for (let i = 0; i < examined; i++) {
    const [id, fields] = entries[i]!;
    nextId = id;
    const parsed = parseEntry(shard, id, fields);
    if (typeof parsed === "string") {
      logger.warn(
        { adapter: "redis", shard, stream, entryId: id, reason: parsed },
        "skipping a stream entry that is not a well-formed event",
      );
    } else {
      events.push(parsed);
    }
  }
  return { events, nextId, hasMore: entries.length > limit };
}
