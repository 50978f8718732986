/**
 * The part of an ioredis (v6) `Redis` client the Redis probe uses, typed structurally so ioredis stays
 * an optional peer dependency: a `new Redis(…)` of yours fits.
 */
export interface RedisProbeClient {
  /** Sends any command: the probe uses `INFO replication`, and `SET` + `WAIT` for the write check. */
  call(command: string, args: (string | number)[]): Promise<unknown>;
  /** The client's settings: `host` and `port` match a replica client to its master's replica list. */
  readonly options: { readonly host?: string | undefined; readonly port?: number | undefined };
  /** A new client with the same settings, overridden: how the probe connects to replicas given by address. */
  duplicate(override?: Record<string, unknown>): RedisProbeClient;
  /** The probe listens for `error` on the clients it opens, so ioredis does not print them. */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** Closes a client the probe opened. */
  disconnect(): void;
}

/** A replica to probe given by address: the probe opens the connection (with the master client's settings). */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** `host:port` with the loopback names made one, to compare with the addresses a master lists. */
export function addressKey(host: string | undefined, port: number | undefined): string {
  const name = host === undefined || host === "localhost" || host === "::1" ? "127.0.0.1" : host;
  return `${name}:${port ?? 6379}`;
}

/** True for a client object rather than an address. */
export function isClient(target: RedisProbeClient | RedisAddress): target is RedisProbeClient {
  return typeof (target as RedisProbeClient).call === "function";
}
