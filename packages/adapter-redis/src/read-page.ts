import {
  FatalError,
  type Logger,
  type ShardPage,
  type StoredEvent,
  parseMessageId,
} from "@netmesh/core/adapter";

/** One entry of an XRANGE or XREAD reply: its id and its flat field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/** The event an entry holds, or why it is not an event this adapter wrote. */
export type Parsed = StoredEvent | string;

/** Checks the values of an entry's `d`, `t` and `m` fields (each `undefined` when missing). */
export function toEvent(
  shard: number,
  id: string,
  json: string | undefined,
  stamp: string | undefined,
  messageId: string | undefined,
): Parsed {
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

/** The event of an entry given as its flat field/value list, `fields[from …]`, `count` strings of it. */
function parseFields(
  shard: number,
  id: string,
  fields: readonly unknown[],
  from: number,
  count: number,
): Parsed {
  let json: string | undefined;
  let stamp: string | undefined;
  let messageId: string | undefined;
  // By name, not position: an entry written by another tool may order its fields differently.
  for (let i = from; i + 1 < from + count; i += 2) {
    const value = fields[i + 1];
    if (typeof value !== "string") continue;
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
  return toEvent(shard, id, json, stamp, messageId);
}

/** Collects a page's events, warning about (and skipping) entries that are not well-formed events. */
export class PageBuilder {
  readonly events: StoredEvent[] = [];
  nextId: string | undefined;

  constructor(
    private readonly shard: number,
    private readonly logger: Logger,
    private readonly stream: string,
  ) {}

  /** One examined entry: the cursor moves past it whether or not it holds an event. */
  add(id: string, parsed: Parsed): void {
    this.nextId = id;
    if (typeof parsed !== "string") {
      this.events.push(parsed);
      return;
    }
    this.logger.warn(
      { adapter: "redis", shard: this.shard, stream: this.stream, entryId: id, reason: parsed },
      "skipping a stream entry that is not a well-formed event",
    );
  }

  page(hasMore: boolean): ShardPage {
    return { events: this.events, nextId: this.nextId, hasMore };
  }
}

/**
 * Turns the entries of an `XREAD … COUNT <limit + 1>` (or `XRANGE`) reply into a page. Only the first
 * `limit` entries are examined; one more was fetched just to know whether more follow. An
 * entry that is not a well-formed event (written by something else, or damaged) is skipped with a
 * warning, and the cursor still moves past it: `nextId` is the last entry *examined*, corrupt or not,
 * so a consumer can never get stuck in front of a bad entry.
 */
export function toPage(
  shard: number,
  entries: readonly StreamEntry[],
  limit: number,
  logger: Logger,
  stream: string,
): ShardPage {
  const examined = Math.min(entries.length, limit);
  const builder = new PageBuilder(shard, logger, stream);
  for (let i = 0; i < examined; i++) {
    const [id, fields] = entries[i]!;
    builder.add(id, parseFields(shard, id, fields, 0, fields.length));
  }
  return builder.page(entries.length > limit);
}

/**
 * Turns a reply of the read script (`{ more, meta, values… }`, see read-script.ts) into a page, with
 * the same checks, warnings and cursor rule as {@link toPage}. A reply not shaped as the script answers
 * (another script under its digest, a server that mangles replies) is a `FatalError`: reading again
 * cannot mend it.
 */
export function packedPage(shard: number, reply: unknown, logger: Logger, stream: string): ShardPage {
  const malformed = () => new FatalError(`redis read of ${stream}: the read script's reply is malformed`);
  if (!Array.isArray(reply) || reply.length < 2 || typeof reply[1] !== "string") throw malformed();
  const values: readonly unknown[] = reply;
  const meta = values[1] as string;
  const builder = new PageBuilder(shard, logger, stream);
  if (meta.length > 0) {
    const words = meta.split(" ");
    if (words.length % 3 !== 0) throw malformed();
    let at = 2;
    for (let w = 0; w < words.length; w += 3) {
      const id = words[w]!;
      const stamp = words[w + 1]!;
      if (stamp.length > 0) {
        const json = values[at++];
        builder.add(id, toEvent(shard, id, typeof json === "string" ? json : undefined, stamp, words[w + 2]));
      } else {
        const count = Number(words[w + 2]);
        if (!Number.isSafeInteger(count) || count < 0 || at + count > values.length) throw malformed();
        builder.add(id, parseFields(shard, id, values, at, count));
        at += count;
      }
    }
    if (at !== values.length) throw malformed();
  }
  return builder.page(values[0] === 1);
}
