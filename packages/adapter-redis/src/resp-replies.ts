import type { Logger, ShardPage } from "@netmesh/core/adapter";
import { PageBuilder, toEvent } from "./read-page.js";

const STAR = 42; // '*'
const DOLLAR = 36; // '$'
const MINUS = 45; // '-'
const CR = 13;
const FIELD_D = 100; // 'd'
const FIELD_T = 116; // 't'
const FIELD_M = 109; // 'm'

/** A reply that breaks RESP or the shape the command answers in: the connection cannot be trusted after it. */
export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
}

/** An error reply of the server, named as ioredis names them so `classify` judges it by its code. */
export function replyError(message: string): Error {
  const error = new Error(message);
  error.name = "ReplyError";
  return error;
}

/** Where reading stopped for want of bytes: the absolute index in the buffer that must be reached first. */
export interface Need {
  at: number;
}

/**
 * One expected reply, decoded from a buffer that may hold only part of it. `feed` consumes whole
 * elements from `pos` and returns where it stopped; `done` turns true once the reply is complete, and
 * `settle` then resolves or rejects its caller. When it stops short it sets `need.at` to the index the
 * buffer must reach before it can go on (past the end when unknown).
 */
export interface PendingReply {
  readonly done: boolean;
  feed(buf: Buffer, pos: number, end: number, need: Need): number;
  settle(): void;
  fail(error: Error): void;
}

/** The index of the CR ending the line that starts at `pos`, or -1 when the CRLF is not buffered yet. */
function lineEnd(buf: Buffer, pos: number, end: number): number {
  const cr = buf.indexOf(CR, pos);
  return cr < 0 || cr + 1 >= end ? -1 : cr;
}

/** The decimal integer in `buf[from, to)`, with an optional minus sign. */
function integer(buf: Buffer, from: number, to: number): number {
  let negative = false;
  let at = from;
  if (buf[at] === MINUS) {
    negative = true;
    at++;
  }
  if (at === to) throw new ProtocolError("redis reply: empty length");
  let value = 0;
  for (; at < to; at++) {
    const digit = buf[at]! - 48;
    if (digit < 0 || digit > 9) throw new ProtocolError("redis reply: malformed length");
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/**
 * A reply to a set-up command (`AUTH`, `SELECT`): anything but an error reply is success. Its
 * failure is the connection's failure, so `onError` decides what happens to the commands behind it.
 */
export class StatusReply implements PendingReply {
  done = false;
  private error: Error | undefined;

  constructor(private readonly onError: (error: Error) => void) {}

  feed(buf: Buffer, pos: number, end: number, need: Need): number {
    const cr = lineEnd(buf, pos, end);
    if (cr < 0) {
      need.at = end + 1;
      return pos;
    }
    const type = buf[pos];
    if (type === MINUS) this.error = replyError(buf.toString("utf8", pos + 1, cr));
    else if (type === STAR || type === DOLLAR) throw new ProtocolError("redis reply: unexpected aggregate");
    this.done = true;
    return cr + 2;
  }

  settle(): void {
    if (this.error !== undefined) this.onError(this.error);
  }

  fail(): void {}
}

/**
 * The reply to `XRANGE <stream> <start> + COUNT <limit + 1>`, decoded straight into a page: only the
 * first `limit` entries become events (the extra one only tells that more follow), and only the
 * values of the `d`, `t` and `m` fields become strings; the checks, warnings and cursor rule are
 * those of every page of this adapter (see read-page.ts). An entry is taken once it is wholly
 * buffered, so a reply split over many socket reads is decoded once, entry by entry.
 */
export class XrangeReply implements PendingReply {
  done = false;
  private remaining = -1;
  private examined = 0;
  private error: Error | undefined;
  private readonly builder: PageBuilder;

  constructor(
    private readonly shard: number,
    private readonly limit: number,
    logger: Logger,
    stream: string,
    private readonly resolve: (page: ShardPage) => void,
    private readonly reject: (error: Error) => void,
  ) {
    this.builder = new PageBuilder(shard, logger, stream);
  }

  feed(buf: Buffer, pos: number, end: number, need: Need): number {
    let at = pos;
    if (this.remaining < 0) {
      const cr = lineEnd(buf, at, end);
      if (cr < 0) {
        need.at = end + 1;
        return at;
      }
      const type = buf[at];
      if (type === MINUS) {
        this.error = replyError(buf.toString("utf8", at + 1, cr));
        this.done = true;
        return cr + 2;
      }
      if (type !== STAR) throw new ProtocolError("redis XRANGE reply: not an array");
      this.remaining = Math.max(0, integer(buf, at + 1, cr));
      at = cr + 2;
    }
    while (this.remaining > 0) {
      const next = this.entry(buf, at, end, need);
      if (next < 0) return at;
      at = next;
      this.remaining--;
    }
    this.done = true;
    return at;
  }

  settle(): void {
    if (this.error !== undefined) this.reject(this.error);
    else this.resolve(this.builder.page(this.examined > this.limit));
  }

  fail(error: Error): void {
    this.reject(error);
  }

  /**
   * One entry, `[id, [field, value, …]]`, from `pos`: the index after it, or -1 (with `need` set)
   * when it is not wholly buffered yet.
   */
  private entry(buf: Buffer, pos: number, end: number, need: Need): number {
    let at = this.header(buf, pos, end, STAR, need);
    if (at < 0) return -1;
    if (this.lastLength() !== 2) throw new ProtocolError("redis XRANGE reply: an entry is not [id, fields]");
    at = this.header(buf, at, end, DOLLAR, need);
    if (at < 0) return -1;
    if (this.lastLength() < 0) throw new ProtocolError("redis XRANGE reply: an entry has no id");
    if (!this.complete(at, end, need)) return -1;
    const idFrom = at;
    const idTo = at + this.lastLength();
    at = idTo + 2;
    at = this.header(buf, at, end, STAR, need);
    if (at < 0) return -1;
    const count = this.lastLength();
    const wanted = this.examined < this.limit;
    let json: string | undefined;
    let stamp: string | undefined;
    let messageId: string | undefined;
    let name = -1;
    for (let i = 0; i < count; i++) {
      at = this.header(buf, at, end, DOLLAR, need);
      if (at < 0) return -1;
      const length = this.lastLength();
      if (length < 0) {
        name = -1; // a null element: no field of ours
        continue;
      }
      if (!this.complete(at, end, need)) return -1;
      if (i % 2 === 0) {
        name = length === 1 ? buf[at]! : -1;
      } else if (wanted) {
        // By name, not position: an entry written by another tool may order its fields differently.
        // All three as UTF-8, as ioredis decodes them on the read script's path: a `t` or `m` another
        // writer stored with bytes beyond ASCII must be judged the same on both paths.
        if (name === FIELD_D) json = buf.toString("utf8", at, at + length);
        else if (name === FIELD_T) stamp = buf.toString("utf8", at, at + length);
        else if (name === FIELD_M) messageId = buf.toString("utf8", at, at + length);
      }
      at += length + 2;
    }
    if (wanted) {
      const id = buf.toString("latin1", idFrom, idTo);
      this.builder.add(
        id,
        count % 2 === 0 ? toEvent(this.shard, id, json, stamp, messageId) : "odd field list",
      );
    }
    this.examined++;
    return at;
  }

  /** The length of the last header read by {@link header}. */
  private length = 0;

  /** {@link length}, read through a call so the checks on one header do not narrow the next. */
  private lastLength(): number {
    return this.length;
  }

  /** Reads a `<type><length>\r\n` header at `pos` into `length`: the index after it, or -1 if not buffered. */
  private header(buf: Buffer, pos: number, end: number, type: number, need: Need): number {
    if (pos >= end) {
      need.at = pos + 1;
      return -1;
    }
    if (buf[pos] !== type) throw new ProtocolError("redis XRANGE reply: unexpected element type");
    const cr = lineEnd(buf, pos, end);
    if (cr < 0) {
      need.at = end + 1;
      return -1;
    }
    this.length = integer(buf, pos + 1, cr);
    return cr + 2;
  }

  /** Whether the bulk string of `length` bytes at `pos` and its CRLF are buffered (else sets `need`). */
  private complete(pos: number, end: number, need: Need): boolean {
    const after = pos + this.length + 2;
    if (after <= end) return true;
    need.at = after;
    return false;
  }
}
