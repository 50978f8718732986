import { randomBytes } from "node:crypto";
import type { Adapter, Logger, StoredEvent } from "@netmesh/core/adapter";
import type { Redis } from "ioredis";

/** A key prefix no other test run uses: `t-<tag>-<pid>-<random>`. */
export function uniquePrefix(tag: string): string {
  return `t-${tag}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** Escapes the glob characters of SCAN MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/** Deletes every key of `prefix` (streams and dedup marks: they all start with `{<prefix>:`). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `{${globEscape(prefix)}:*`, "COUNT", 1000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
  return deleted;
}

/** Keys of `prefix` currently in Redis. */
export async function keysOf(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `{${globEscape(prefix)}:*`, "COUNT", 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return found.sort();
}

/** One captured log line. */
export interface LogLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** A logger that keeps every line, for assertions. */
export function recordingLogger(): Logger & { readonly lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    text: () =>
      lines.map((line) => `${line.level} ${line.message} ${JSON.stringify(line.fields)}`).join("\n"),
  };
}

/** Reads a shard to its end with pages of `limit`; fails if it does not end within `maxPages`. */
export async function readAll(adapter: Adapter, shard: number, limit = 1000, maxPages = 10_000) {
  const events: StoredEvent[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = await adapter.pollShard(shard, cursor, limit);
    events.push(...result.events);
    if (result.nextId !== undefined) cursor = result.nextId;
    if (!result.hasMore) return events;
  }
  throw new Error(`shard ${shard} did not end within ${maxPages} pages`);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
