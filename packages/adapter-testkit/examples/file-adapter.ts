import { access, mkdir, open, readFile, readdir, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import {
  AdapterBase,
  type AdapterCapabilities,
  type AdapterError,
  type Batch,
  FatalError,
  type ShardPage,
  type StoredEvent,
  TransientError,
  isAdapterError,
  parseMessageId,
} from "@netmesh/core/adapter";

/** Options of {@link FileAdapter}. */
export interface FileAdapterOptions {
  /** Directory holding one file per shard; created by `init`. One writing adapter per directory. */
  readonly directory: string;
}

/** One line of a shard file: `[timestamp, messageId, json]` as a JSON array. */
type Line = [timestamp: number, messageId: string, json: string];

/** Entry ids are 1-based line numbers: `"1"`, `"2"`, … */
const ENTRY_ID = /^[1-9]\d{0,15}$/;
const SHARD_FILE = /^shard-(\d+)\.jsonl$/;

const CAPABILITIES: AdapterCapabilities = {
  readable: true,
  dedup: "write", // a per-producer high-water mark rebuilt from the file: it never expires
  dedupWindowMs: Number.POSITIVE_INFINITY,
  persistent: true,
  ordering: "shard",
  maxEventBytes: Number.POSITIVE_INFINITY, // JSON lines hold any text, lone surrogates escaped
  streamingReads: false,
  listsShards: true,
};

/** File-system errors worth retrying; every other one is fatal. */
const TRANSIENT_CODES = new Set(["EAGAIN", "EBUSY", "EMFILE", "ENFILE", "ENOSPC", "EINTR"]);

function classify(error: unknown, what: string): AdapterError {
  const code = (error as NodeJS.ErrnoException).code ?? "";
  const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
  return TRANSIENT_CODES.has(code)
    ? new TransientError(message, { cause: error })
    : new FatalError(message, { cause: error });
}

/** The complete lines of a file; a torn last line (a crash mid-append) is not one of them. */
async function readLines(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw classify(error, `read ${path}`);
  }
  const lines = text.split("\n");
  lines.pop(); // what follows the last newline: "" or a torn line
  return lines;
}

function parseLine(line: string): Line | undefined {
  try {
    const value: unknown = JSON.parse(line);
    const [timestamp, messageId, json] = Array.isArray(value) ? value : [];
    if (typeof timestamp === "number" && typeof messageId === "string" && typeof json === "string") {
      return [timestamp, messageId, json];
    }
  } catch {
    // Not JSON: the caller treats the line as corrupt.
  }
  return undefined;
}

/**
 * A minimal durable adapter: each shard is a file of JSON lines under a directory, appended and
 * fsynced per batch. Entry ids are line numbers. Dedup keeps, per shard and producer, the next
 * sequence number not yet stored (a high-water mark), rebuilt from the file's message ids when a shard
 * is first written, so it survives restarts and a retry through a new instance is still stored once.
 * `AdapterBase` owns the lifecycle (init, shutdown, errors per state, the abort signal, argument
 * checks): this class only opens, writes, reads and closes.
 */
export class FileAdapter extends AdapterBase {
  readonly name = "file";
  readonly capabilities = CAPABILITIES;
  private readonly directory: string;
  /** Per shard: producer → next sequence not yet stored. Loaded from the file on first write. */
  private readonly highWater = new Map<number, Map<string, number>>();
  /**
   * Per shard: the write in progress. An attempt the bus abandoned may still be appending when its
   * retry arrives; the retry must wait for it and see its mark, or both would append the batch.
   */
  private readonly appending = new Map<number, Promise<unknown>>();
  /** Per shard: the lines last read and the file size they came from (files only grow). */
  private readonly readCache = new Map<number, { size: number; lines: string[] }>();

  constructor(options: FileAdapterOptions) {
    super();
    this.directory = options.directory;
  }

  protected async open(): Promise<void> {
    try {
      await mkdir(this.directory, { recursive: true });
    } catch (error) {
      throw classify(error, `create ${this.directory}`);
    }
  }

  protected write(batch: Batch, signal: AbortSignal): Promise<void> {
    const previous = this.appending.get(batch.shard) ?? Promise.resolve();
    const current = previous.catch(() => {}).then(() => this.append(batch, signal));
    this.appending.set(batch.shard, current);
    return current;
  }

  private async append(batch: Batch, signal: AbortSignal): Promise<void> {
    const path = this.file(batch.shard);
    try {
      const next = this.highWater.get(batch.shard) ?? (await this.load(path));
      this.highWater.set(batch.shard, next);
      // The bus sends a (producer, shard) in sequence order, so a retry overlaps the mark exactly.
      const seen = next.get(batch.producer) ?? 0;
      const skip = Math.min(batch.size, Math.max(0, seen - batch.firstSequence));
      let text = "";
      for (let i = skip; i < batch.size; i++) {
        const line: Line = [batch.timestamps[i]!, batch.messageId(i), batch.events[i]!];
        text += `${JSON.stringify(line)}\n`; // JSON.stringify escapes newlines: one event, one line
      }
      // Past this point the write is not interrupted, so an abort never leaves half a batch.
      if (signal.aborted) throw new TransientError("onBatch aborted", { cause: signal.reason });
      if (text !== "") {
        const handle = await open(path, "a");
        try {
          await handle.appendFile(text, "utf8");
          await handle.datasync(); // rule 2: resolve only once the batch is durable
        } finally {
          await handle.close();
        }
      }
      next.set(batch.producer, Math.max(seen, batch.firstSequence + batch.size));
    } catch (error) {
      // The file may hold part of the batch: forget the mark, so the retry reloads it from the file.
      this.highWater.delete(batch.shard);
      throw isAdapterError(error) ? error : classify(error, `append ${path}`);
    }
  }

  protected async read(shard: number, afterId: string | undefined, limit: number): Promise<ShardPage> {
    // A cursor this adapter never handed out is a caller's mistake: FatalError (rule 6).
    if (afterId !== undefined && !ENTRY_ID.test(afterId)) {
      throw new FatalError(`invalid file entry id ${JSON.stringify(afterId)}`);
    }
    const lines = await this.linesOf(shard);
    const start = afterId === undefined ? 0 : Number(afterId); // line n has id n + 1: exclusive cursor
    const end = Math.min(lines.length, start + limit);
    const events: StoredEvent[] = [];
    let nextId: string | undefined;
    for (let i = start; i < end; i++) {
      nextId = String(i + 1); // a corrupt line is examined and skipped: the cursor moves past it
      const line = parseLine(lines[i]!);
      if (line === undefined) {
        this.logger.warn({ shard, id: nextId }, "skipping a corrupt line");
        continue;
      }
      const [timestamp, messageId, json] = line;
      events.push({ id: nextId, shard, timestamp, json, messageId });
    }
    return { events, nextId, hasMore: end < lines.length };
  }

  protected override async discoverShards(): Promise<readonly number[]> {
    const names = await readdir(this.directory).catch((error: unknown) => {
      throw classify(error, `list ${this.directory}`);
    });
    return names.flatMap((name) => {
      const match = SHARD_FILE.exec(name);
      return match === null ? [] : [Number(match[1])];
    });
  }

  protected override ping(): Promise<boolean> {
    return access(this.directory).then(
      () => true,
      () => false,
    );
  }

  protected async close(): Promise<void> {
    this.highWater.clear();
    this.readCache.clear();
  }

  /** The complete lines of a shard's file, read again only when the file has grown. */
  private async linesOf(shard: number): Promise<string[]> {
    const path = this.file(shard);
    const size = await stat(path).then(
      (stats) => stats.size,
      () => 0,
    );
    const cached = this.readCache.get(shard);
    if (cached?.size === size) return cached.lines;
    const lines = await readLines(path);
    this.readCache.set(shard, { size, lines });
    return lines;
  }

  private file(shard: number): string {
    return join(this.directory, `shard-${shard}.jsonl`);
  }

  /** Rebuilds a shard's high-water marks from its file, first cutting off a torn last line. */
  private async load(path: string): Promise<Map<string, number>> {
    const lines = await readLines(path);
    const complete = lines.reduce((bytes, line) => bytes + Buffer.byteLength(line, "utf8") + 1, 0);
    await truncate(path, complete).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw classify(error, `truncate ${path}`);
    });
    const next = new Map<string, number>();
    for (const line of lines) {
      const id = parseMessageId(parseLine(line)?.[1] ?? "");
      if (id !== undefined) next.set(id.producer, Math.max(next.get(id.producer) ?? 0, id.sequence + 1));
    }
    return next;
  }
}
