/** Resolves true when something accepts TCP connections on 127.0.0.1:port within `ms`. */
export declare function isListening(port: number, ms?: number): Promise<boolean>;
/** A free TCP port on loopback. */
export declare function freePort(): Promise<number>;
/** The only interface the test servers listen on, "127.0.0.1". */
export declare const HOST: string;
/** The command that prepares the machine for the tests ("npm run setup"); errors name it. */
export declare const SETUP_COMMAND: string;
/** Resolves once something listens on 127.0.0.1:port; rejects after `ms`. */
export declare function waitForPort(port: number, ms: number, what: string): Promise<void>;
/** True when `binary` is on the PATH. */
export declare function hasBinary(binary: string): boolean;
/** The full path of `binary` on the PATH. */
export declare function binaryPath(binary: string): string;
/**
 * Checks that `binary` is on the PATH; throws "run the set-up: npm run setup" when it is not. Tests
 * never install anything (the set-up step installs Debian's `aptPackage`).
 */
export declare function ensureBinary(binary: string, aptPackage: string): void;
/** The INFO a nats-server greets a connection with on 127.0.0.1:port, or undefined when none answers. */
export declare function natsInfo(port: number, ms?: number): Promise<Record<string, unknown> | undefined>;
/** The shared Redis (127.0.0.1:6379): resolves its URL, or rejects ("run the set-up") when it is not running. */
export declare function ensureRedis(port?: number): Promise<string>;
/**
 * The shared nats-server with JetStream (127.0.0.1:4222): resolves its URL, or rejects when it is not
 * running ("run the set-up") or runs without JetStream.
 */
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
