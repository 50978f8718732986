/** Resolves true when something accepts TCP connections on 127.0.0.1:port within `ms`. */
export declare function isListening(port: number, ms?: number): Promise<boolean>;
/** A free TCP port on loopback. */
export declare function freePort(): Promise<number>;
/** Makes sure `binary` is on the PATH, installing Debian's `aptPackage` when it is not (as root). */
export declare function ensureBinary(binary: string, aptPackage: string): void;
/** Starts the shared Redis on 127.0.0.1:6379 unless it already runs; resolves its URL. */
export declare function ensureRedis(port?: number): Promise<string>;
/** Starts the shared nats-server with JetStream on 127.0.0.1:4222 unless it already runs; resolves its URL. */
export declare function ensureNats(port?: number): Promise<string>;

/** A private server on a free loopback port, for tests that kill or restart it. */
export interface PrivateServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server at once (SIGKILL). */
  kill(): Promise<void>;
  /** Kills it and starts it again on the same port (NATS keeps its JetStream store). */
  restart(): Promise<void>;
  /** Kills it and removes its files. */
  stop(): Promise<void>;
}
/** Starts a private redis-server (no persistence) on a free loopback port. */
export declare function startRedis(): Promise<PrivateServer>;
/** Starts a private nats-server with JetStream on a free loopback port. */
export declare function startNats(): Promise<PrivateServer>;
