import { type Logger, redactUrl } from "@netmesh/core/adapter";
import { type Cluster, Redis, type RedisOptions } from "ioredis";
import { bounded } from "./bounded.js";
import { classify, scrubbedError } from "./classify.js";
import type { RedisConnectionOptions } from "./options.js";
import { Redactor } from "./redaction.js";

/** The ioredis client the adapter talks through, and whether the adapter owns it. */
export class Connection {
  private current: Redis | Cluster;
  /** Makes a fresh owned client; undefined for a borrowed one. */
  private readonly make: (() => Redis) | undefined;
  /** Set when an owned client was stopped after a failed connect: the next open() starts a new one. */
  private stale = false;
  /** True when the adapter created the client and so must close it. */
  readonly owned: boolean;
  /** Scrubs this connection's credentials from any text. */
  readonly redactor: Redactor;
  /** Where Redis is, fit for a log line. */
  readonly description: string;
  private logger: Logger | undefined;
  private lostLogged = false;

  constructor(options: RedisConnectionOptions, connectTimeoutMs: number) {
    if (options.client !== undefined) {
      this.current = options.client;
      this.make = undefined;
      this.owned = false;
      this.redactor = new Redactor([]);
      this.description = options.client.isCluster
        ? "a caller's ioredis Cluster"
        : "a caller's ioredis client";
      return;
    }
    const url = options.url;
    const given: RedisOptions = options.redisOptions ?? {};
    // The adapter connects in init() (lazyConnect), bounded by connectTimeoutMs unless told otherwise.
    const settings = {
      connectionName: "netmesh-adapter-redis",
      connectTimeout: connectTimeoutMs,
      ...given,
      lazyConnect: true,
      // Replies are parsed in their RESP2-compatible shapes.
      replyMapping: "legacy" as const,
    };
    this.make = () => {
      const client = url === undefined ? new Redis(settings) : new Redis(url, settings);
      // Without a listener ioredis prints every connection error to the console; route them to the logger.
      client.on("error", (error: unknown) => this.onError(error));
      client.on("ready", () => this.onReady());
      return client;
    };
    this.current = this.make();
    this.owned = true;
    this.redactor = Redactor.forConnection(url, given);
    this.description =
      url !== undefined
        ? redactUrl(url)
        : `redis://${given.host ?? "localhost"}:${given.port ?? 6379}/${given.db ?? 0}`;
  }

  /** The client: created here (owned) or handed over by the caller (borrowed). */
  get client(): Redis | Cluster {
    return this.current;
  }

  /** Starts logging through `logger` (the bus's). */
  useLogger(logger: Logger): void {
    this.logger = logger;
  }

  /**
   * Connects, if the client is not connected yet, and waits until it is ready, at most `ms`. A failed
   * attempt is classified by the error that caused it (refused → connection, bad password → fatal),
   * and an owned client is stopped so it does not keep reconnecting in the background.
   */
  async open(ms: number): Promise<void> {
    if (this.stale && this.make !== undefined) {
      // A stopped ioredis client can be left in a state it never leaves: start over with a new one.
      this.current = this.make();
      this.stale = false;
    }
    const client = this.current;
    if (client.status === "ready") return;
    let lastError: unknown;
    const remember = (error: unknown) => {
      lastError = error;
    };
    client.on("error", remember);
    try {
      const ready =
        client.status === "wait" || client.status === "end"
          ? client.connect()
          : new Promise<void>((resolve, reject) => {
              const onReady = () => {
                client.off("end", onEnd);
                resolve();
              };
              const onEnd = () => {
                client.off("ready", onReady);
                reject(new Error("Connection is closed."));
              };
              client.once("ready", onReady);
              client.once("end", onEnd);
            });
      await bounded(ready, ms, `connect to ${this.description}`);
    } catch (error) {
      this.abandon();
      // connect() reports only "Connection is closed."; the error event before it says why.
      throw classify(lastError ?? error, `connect to ${this.description}`, this.redactor);
    } finally {
      client.off("error", remember);
    }
  }

  /** After a failed `init`: stops an owned client (no reconnect loop left behind); the next open() makes a new one. */
  abandon(): void {
    if (!this.owned) return;
    this.current.disconnect();
    this.stale = true;
  }

  /**
   * Closes an owned client: QUIT (so the server finishes what it has), then a hard disconnect, and waits
   * (bounded) until ioredis reports the connection ended. Leaves a borrowed client alone.
   */
  async close(ms: number): Promise<void> {
    if (!this.owned) return;
    const { client } = this;
    // Read afresh each time: the status changes under us as the connection closes.
    const status = (): string => client.status;
    if (status() === "end") return;
    const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
    if (status() === "ready") await bounded(client.quit(), ms, "QUIT").catch(() => {});
    client.disconnect();
    // ioredis emits "end" only when a live socket closes. A client between reconnect attempts (the
    // server is down, or refused the password) has none and would never emit it: it is closed now.
    const socketless = status() === "reconnecting" || status() === "close" || status() === "wait";
    if (status() !== "end" && !socketless) await bounded(ended, ms, "disconnect").catch(() => {});
  }

  private onError(error: unknown): void {
    // Reconnect attempts repeat the same error; one warning per outage is enough.
    if (this.lostLogged) return;
    this.lostLogged = true;
    this.logger?.warn(
      { adapter: "redis", url: this.description, err: scrubbedError(error, this.redactor) },
      "redis connection error; ioredis reconnects and queues commands meanwhile",
    );
  }

  private onReady(): void {
    if (this.lostLogged) {
      this.logger?.info({ adapter: "redis", url: this.description }, "redis connection ready again");
    }
    this.lostLogged = false;
  }
}
