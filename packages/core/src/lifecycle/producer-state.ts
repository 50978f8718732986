import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ProducerStateError } from "../errors.js";

/**
 * Where a bus gets its producer nonce and the first sequence number of each shard, and how it makes
 * sure a sequence number is never handed out twice for the same nonce.
 */
export interface ProducerState {
  /** The producer nonce (16 lowercase hex digits, never all zeros). */
  readonly producer: string;
  /** The sequence number a shard starts at. */
  startSequence(shard: number): number;
  /**
   * Makes sure sequences below `end` are reserved for `shard` before a batch using them is sent.
   * Returns `undefined` when they already are (the common case: no promise), else a promise that
   * settles once the reservation is durable.
   */
  reserve(shard: number, end: number): Promise<void> | undefined;
  /** Records the exact next sequence of every shard (clean shutdown). */
  close(nextSequences: ReadonlyMap<number, number>): Promise<void>;
}

/** Draws a random non-zero 64-bit producer nonce as 16 hex digits. */
export function randomProducerNonce(): string {
  for (;;) {
    const hex = randomBytes(8).toString("hex");
    if (hex !== "0000000000000000") return hex;
  }
}

/** Producer state that lives only as long as the bus: a fresh random nonce, sequences from 0. */
export function ephemeralProducerState(): ProducerState {
  return {
    producer: randomProducerNonce(),
    startSequence: () => 0,
    reserve: () => undefined,
    close: async () => {},
  };
}

/** Sequence numbers reserved ahead in one write, per shard. A crash leaves at most this gap. */
const LEASE = 1 << 20;
const FORMAT_VERSION = 1;
const NONCE = /^[0-9a-f]{16}$/;
const SHARD_KEY = /^(0|[1-9]\d{0,4})$/;

interface StateFile {
  version: number;
  producer: string;
  /** Per shard id: the lowest sequence number not yet handed out (or reserved, after a crash). */
  nextSequence: Record<string, number>;
}

function parseStateFile(path: string, text: string): StateFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new ProducerStateError(path, "is not valid JSON; delete it to start a new producer", { cause });
  }
  const file = data as Partial<StateFile> | null;
  if (typeof file !== "object" || file === null || file.version !== FORMAT_VERSION) {
    throw new ProducerStateError(path, `has an unknown format (expected version ${FORMAT_VERSION})`);
  }
  if (typeof file.producer !== "string" || !NONCE.test(file.producer) || file.producer === "0".repeat(16)) {
    throw new ProducerStateError(path, "has an invalid producer nonce");
  }
  const sequences = file.nextSequence;
  if (typeof sequences !== "object" || sequences === null || Array.isArray(sequences)) {
    throw new ProducerStateError(path, "has no nextSequence table");
  }
  const clean: Record<string, number> = Object.create(null);
  for (const [key, value] of Object.entries(sequences)) {
    if (!SHARD_KEY.test(key) || Number(key) > 0xffff || !Number.isSafeInteger(value) || value < 0) {
      throw new ProducerStateError(path, `has an invalid sequence entry ${JSON.stringify(key)}`);
    }
    clean[key] = value;
  }
  return { version: FORMAT_VERSION, producer: file.producer, nextSequence: clean };
}

/** Writes `text` to `path` atomically and durably: unique temp file, fsync, rename, fsync of the directory. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  const directory = await open(dirname(path), "r").catch(() => undefined);
  if (directory) {
    // Makes the rename itself durable; not every platform supports fsync on a directory.
    await directory.sync().catch(() => {});
    await directory.close();
  }
}

/**
 * Producer state persisted in a JSON file: the nonce survives restarts, and so does the sequence
 * space. Sequences are reserved ahead in leases of 2^20 per shard, so a crash can only leave a gap
 * (never a reuse); a clean shutdown records the exact next sequences, so a restart continues gap-free.
 * The parent directory must exist. One file belongs to one running bus at a time.
 */
export async function persistentProducerState(path: string): Promise<ProducerState> {
  let file: StateFile;
  try {
    file = parseStateFile(path, await readFile(path, "utf8"));
  } catch (error) {
    if (error instanceof ProducerStateError) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ProducerStateError(path, `cannot be read (${(error as Error).message})`, { cause: error });
    }
    file = { version: FORMAT_VERSION, producer: randomProducerNonce(), nextSequence: Object.create(null) };
    await save(file);
  }

  const reserved = new Map<number, number>();
  for (const [key, value] of Object.entries(file.nextSequence)) reserved.set(Number(key), value);
  const starts = new Map(reserved);
  let writing: Promise<void> = Promise.resolve();

  async function save(state: StateFile): Promise<void> {
    try {
      await writeAtomically(path, `${JSON.stringify(state)}\n`);
    } catch (cause) {
      throw new ProducerStateError(path, `cannot be written (${(cause as Error).message})`, { cause });
    }
  }

  function persist(): Promise<void> {
    // Writes are chained so they land in order; each one writes the latest table.
    const next = writing.then(() => {
      const table: Record<string, number> = Object.create(null);
      for (const [shard, value] of reserved) table[String(shard)] = value;
      return save({ version: FORMAT_VERSION, producer: file.producer, nextSequence: table });
    });
    writing = next.catch(() => {});
    return next;
  }

  return {
    producer: file.producer,
    startSequence: (shard) => starts.get(shard) ?? 0,
    reserve(shard, end) {
      if (end <= (reserved.get(shard) ?? 0)) return undefined;
      reserved.set(shard, end + LEASE);
      return persist();
    },
    async close(nextSequences) {
      for (const [shard, next] of nextSequences) reserved.set(shard, next);
      await persist();
    },
  };
}
