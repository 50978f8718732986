import { MAX_SHARD_ID } from "../contract/adapter-base.js";
import type { Adapter } from "../contract/adapter.js";
import { InvalidCursorError } from "../errors.js";
import { compareIds, idFormat } from "../contract/ids.js";

const MAX_CURSOR_LENGTH = 1 << 20;
const MAX_ID_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const SHARD_KEY = /^(0|[1-9]\d{0,4})$/;
const PRINTABLE = /^[\x21-\x7e]+$/;

/** The part of an adapter that tells its entry ids from others (see `Adapter.isEntryId`). */
export type EntryIdFormat = Pick<Adapter, "name" | "isEntryId">;

/** What happened when a shard's position was offered a new id. */
export type AdvanceOutcome = "advanced" | "unchanged" | "format-change";

/**
 * A position per shard: the id of the last entry consumed. Encoded as canonical, URL-safe base64 (no
 * padding) of a JSON object whose keys are decimal shard ids in ascending order, e.g.
 * `{"0":"17","3":"1700000000000-2"}`. The encoding is never empty (no positions encode as `"e30"`, "{}").
 */
export class CompositeCursor {
  private readonly positions = new Map<number, string>();

  /**
   * Decodes a cursor string, or starts from scratch when it is undefined. Throws
   * {@link InvalidCursorError}, also for a position `backend` says is not one of its entry ids.
   */
  static decode(text: string | undefined, backend?: EntryIdFormat): CompositeCursor {
    const cursor = new CompositeCursor();
    if (text === undefined) return cursor;
    if (typeof text !== "string") throw new InvalidCursorError("must be a string");
    if (text.length === 0 || text.length > MAX_CURSOR_LENGTH) throw new InvalidCursorError("bad length");
    if (!BASE64URL.test(text)) throw new InvalidCursorError("not URL-safe base64");
    let data: unknown;
    try {
      data = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    } catch {
      throw new InvalidCursorError("not JSON");
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      throw new InvalidCursorError("not a JSON object");
    }
    for (const [key, id] of Object.entries(data)) {
      if (!SHARD_KEY.test(key) || Number(key) > MAX_SHARD_ID) {
        throw new InvalidCursorError(
          `shard key ${JSON.stringify(key).slice(0, 40)} is not a canonical shard id`,
        );
      }
      if (typeof id !== "string" || id.length > MAX_ID_LENGTH || !PRINTABLE.test(id)) {
        throw new InvalidCursorError(`position of shard ${key} is not a valid entry id`);
      }
      if (backend?.isEntryId !== undefined && !backend.isEntryId(id)) {
        throw new InvalidCursorError(
          `position of shard ${key} is not a ${backend.name} entry id: ${JSON.stringify(id).slice(0, 40)}`,
        );
      }
      cursor.positions.set(Number(key), id);
    }
    // Only the canonical form is accepted: this rejects duplicate keys, unordered keys, whitespace and
    // padding variants, so one position set has exactly one encoding.
    if (cursor.encode() !== text) throw new InvalidCursorError("not in canonical form");
    return cursor;
  }

  /** The canonical encoding (never empty). */
  encode(): string {
    const ordered = [...this.positions.keys()].sort((a, b) => a - b);
    const object: Record<string, string> = {};
    for (const shard of ordered) object[String(shard)] = this.positions.get(shard)!;
    return Buffer.from(JSON.stringify(object), "utf8").toString("base64url");
  }

  /** Shards that have a position. */
  shardIds(): number[] {
    return [...this.positions.keys()];
  }

  /** The position of a shard (undefined: from the start). */
  get(shard: number): string | undefined {
    return this.positions.get(shard);
  }

  /** An independent copy. */
  clone(): CompositeCursor {
    const copy = new CompositeCursor();
    for (const [shard, id] of this.positions) copy.positions.set(shard, id);
    return copy;
  }

  /**
   * Moves a shard's position to `id` if that is further along. Never moves backwards, and refuses to
   * move between id formats (a backend migration must not silently rewind or skip a shard).
   */
  advance(shard: number, id: string): AdvanceOutcome {
    const current = this.positions.get(shard);
    if (current === undefined) {
      this.positions.set(shard, id);
      return "advanced";
    }
    if (idFormat(current) !== idFormat(id)) return "format-change";
    if (compareIds(id, current) <= 0) return "unchanged";
    this.positions.set(shard, id);
    return "advanced";
  }

  /** Sets a shard's position unconditionally (used when resuming exactly where an event was delivered). */
  set(shard: number, id: string): void {
    this.positions.set(shard, id);
  }

  /** True when both cursors hold the same positions. */
  equals(other: CompositeCursor): boolean {
    if (other.positions.size !== this.positions.size) return false;
    for (const [shard, id] of this.positions) if (other.positions.get(shard) !== id) return false;
    return true;
  }
}
