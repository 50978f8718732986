import { randomBytes } from "node:crypto";
import type { Adapter } from "@netmesh/core";
import type { LocalServer } from "./local-server.js";

/** The adapters the playground can run on, as `--adapter` spells them. */
export const ADAPTER_NAMES = ["memory", "noop", "redis", "jetstream", "kinesis"] as const;

/** One of {@link ADAPTER_NAMES}. */
export type AdapterName = (typeof ADAPTER_NAMES)[number];

/** A value of `--adapter-option key=value`: numbers and booleans are parsed, the rest stays text. */
export type AdapterOptionValue = string | number | boolean;

/** Where and how to open a backend. */
export interface BackendOptions {
  readonly adapter: AdapterName;
  /** The server's address; default the local shared server (Redis, NATS) or a kinesalite of our own. */
  readonly url?: string;
  /** Start a private server on a free loopback port (the outage scenario stops and restarts it). */
  readonly ownServer?: boolean;
  /** Redis only: a master and a replica of the playground's own, watched by `@netmesh/replication-metrics`. */
  readonly replica?: boolean;
  /** Extra options handed to the adapter's constructor as they are (`--adapter-option`). */
  readonly adapterOptions?: Readonly<Record<string, AdapterOptionValue>>;
  /** Makes the run's key prefix / stream name unique; default random. */
  readonly runId?: string;
}

/**
 * A backend opened for one run: makes adapters over it (the bus's, and one per reader, each with its
 * own connection, as separate processes would have) and removes what the run stored.
 */
export interface Backend {
  readonly name: AdapterName;
  /** For the report: where it is and under which names the run stores, e.g. `redis://127.0.0.1:6379, prefix …`. */
  readonly description: string;
  /** False for noop, which stores nothing: its run checks counts instead of reading back. */
  readonly readable: boolean;
  /** The private server, when the playground started one (for the outage scenario). */
  readonly server: LocalServer | undefined;
  /**
   * Starts watching replication (when the backend has a replica): `@netmesh/replication-metrics`'s probe
   * feeding its registry. `undefined` for backends without one.
   */
  readonly watchReplication: ((shards: number) => ReplicationWatch) | undefined;
  /** A new adapter over the backend (not initialised: the bus or the reader does that). */
  createAdapter(): Adapter;
  /**
   * Deletes the keys / streams the run created and stops what the playground started; resolves a
   * short account of what it removed. Idempotent.
   */
  cleanup(): Promise<string>;
}

/** Replication figures, as `@netmesh/replication-metrics` measured them. */
export interface ReplicationView {
  /** The worst replica's lag behind the master, ms; `null` until observed. */
  readonly replicaLagMs: number | null;
  /** The largest replica lag seen so far, ms; `null` until observed. */
  readonly maxReplicaLagMs: number | null;
  /** Bytes shipped to the replicas so far. */
  readonly syncBytes: number;
  /** Channels (shard streams) tracked. */
  readonly channels: number;
}

/** A running replication probe. */
export interface ReplicationWatch {
  view(): ReplicationView;
  /** The figures once the replica has acknowledged what it has (it acknowledges once a second). */
  settled(): Promise<ReplicationView>;
  stop(): Promise<void>;
}

/** A run id for unique key prefixes and stream names: `<pid>-<8 hex digits>`. */
export function newRunId(): string {
  return `${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** Runs `cleanup` once, however often it is called. */
export function once(cleanup: () => Promise<string>): () => Promise<string> {
  let done: Promise<string> | undefined;
  return () => {
    done ??= cleanup();
    return done;
  };
}
