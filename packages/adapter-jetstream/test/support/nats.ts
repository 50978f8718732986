import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { Logger } from "@netmesh/core/adapter";

/** The shared server the tests use (the global setup starts it). */
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

/** A stream prefix no other run or test uses: `t{tag}{random}`. */
export function uniquePrefix(tag: string): string {
  return `t${tag}${randomBytes(5).toString("hex")}`;
}

/** Runs `work` with a connection of its own to `url`, closed afterwards. */
export async function withConnection<T>(url: string, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: url, timeout: 5_000 });
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}

/** Deletes every stream whose subjects lie under `{prefix}.shard.*`; returns how many. */
export async function deleteStreams(prefix: string, url = NATS_URL): Promise<number> {
  return withConnection(url, async (nc) => {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names(`${prefix}.shard.*`)) names.push(name);
    for (const name of names) await jsm.streams.delete(name);
    return names.length;
  });
}

/** One log line kept by {@link recordingLogger}. */
export interface LogLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

/** A logger that keeps every line, to check what the adapter logged. */
export function recordingLogger(lines: LogLine[]): Logger {
  const keep =
    (level: LogLine["level"]) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, message, fields });
    };
  return { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") };
}

/** A signal that is never aborted, as the bus hands `onBatch`. */
export function liveSignal(): AbortSignal {
  return new AbortController().signal;
}
