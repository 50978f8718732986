import { AsyncLocalStorage } from "node:async_hooks";
import diagnostics from "node:diagnostics_channel";
import { Socket } from "node:net";
import type { NatsConnection, Status } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { FatalError, type Logger, TransientError, redactUrl } from "@netmesh/core/adapter";
import { classifyClientError, describe } from "./classify.js";
import type { ResolvedOptions } from "./options.js";

/** The servers of a URL list, and the credentials their user-info carried. */
export interface ServerList {
  readonly servers: string[];
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
}

/**
 * Splits `nats://user:pass@h1:4222,nats://h2:4222` into servers without user-info and the credentials:
 * the NATS client ignores user-info in server URLs, so the adapter hands it over as options
 * (`user:pass@` as user and password, a lone `token@` as a token). All servers must agree.
 */
export function parseServers(url: string): ServerList {
  const servers: string[] = [];
  let credentials: string | undefined;
  for (const raw of url.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const authorityStart = part.includes("://") ? part.indexOf("://") + 3 : 0;
    const rest = part.slice(authorityStart);
    const authorityEnd = rest.search(/[/?#]/);
    const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
    const at = authority.lastIndexOf("@");
    if (at === -1) {
      servers.push(part);
      continue;
    }
    const userInfo = authority.slice(0, at);
    if (credentials !== undefined && credentials !== userInfo) {
      throw new FatalError(`the servers in ${redactUrl(url)} carry different credentials; give one set`);
    }
    credentials = userInfo;
    servers.push(part.slice(0, authorityStart) + rest.slice(at + 1));
  }
  if (credentials === undefined) return { servers };
  const colon = credentials.indexOf(":");
  try {
    if (colon === -1) return { servers, token: decodeURIComponent(credentials) };
    return {
      servers,
      user: decodeURIComponent(credentials.slice(0, colon)),
      pass: decodeURIComponent(credentials.slice(colon + 1)),
    };
  } catch {
    // The URIError names nothing, but say what is wrong without quoting the credentials.
    throw new FatalError(`the credentials in ${redactUrl(url)} are not valid percent-encoding`);
  }
}

/**
 * The secrets the options carry, to be kept out of errors and logs: the user-info of each server URL
 * (whole, and its password or token part, raw and percent-decoded) and `connectOptions`' `pass` and
 * `token`. An authenticator (nkey seed, JWT and seed of a creds file) is a function: what it holds is
 * never in an error or a message of the client, and is not known here.
 */
export function secretsOf(
  url: string | undefined,
  connectOptions: { pass?: unknown; token?: unknown },
): string[] {
  const secrets: string[] = [];
  const add = (text: string) => {
    secrets.push(text);
    try {
      secrets.push(decodeURIComponent(text));
    } catch {
      // not percent-encoded text: the raw form is enough
    }
  };
  for (const part of (url ?? "").split(",")) {
    const authorityStart = part.includes("://") ? part.indexOf("://") + 3 : 0;
    const rest = part.slice(authorityStart);
    const authorityEnd = rest.search(/[/?#]/);
    const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
    const at = authority.lastIndexOf("@");
    if (at === -1) continue;
    const userInfo = authority.slice(0, at);
    add(userInfo);
    const colon = userInfo.indexOf(":");
    if (colon !== -1) add(userInfo.slice(colon + 1));
  }
  for (const value of [connectOptions.pass, connectOptions.token]) if (typeof value === "string") add(value);
  return secrets.filter((secret) => secret !== "");
}

/**
 * Wait between reconnection attempts to one server, ms (the client's default is 2,000). A server
 * restarted in 2 s is then reached again within about half a second of listening, not up to 2 s later.
 */
export const RECONNECT_TIME_WAIT_MS = 500;

/**
 * Opens the adapter's own connection. `noAsyncTraces` spares the client an Error with a stack trace
 * per request (its costliest habit); reconnection never gives up, because a bus outlives server
 * restarts and the bus's retries decide what happens to a batch meanwhile; attempts come every
 * {@link RECONNECT_TIME_WAIT_MS} unless `connectOptions.reconnectTimeWait` says otherwise. Credentials
 * come from the URL's user-info unless `connectOptions` has its own. Failures are classified (bad credentials are
 * fatal, a refused or timed-out connect is a connection error) and the URL in their message redacted.
 */
export async function openConnection(options: ResolvedOptions, url: string): Promise<NatsConnection> {
  const { servers, ...credentials } = parseServers(url);
  const attempt: ConnectAttempt = { open: true, sockets: new Set() };
  if (watchers++ === 0) diagnostics.subscribe(SOCKET_CHANNEL, onClientSocket);
  try {
    return await attempts.run(attempt, () =>
      connect({
        name: "netmesh-adapter-jetstream",
        noAsyncTraces: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
        ...credentials,
        ...options.connectOptions,
        // The client's own requests (JetStream API calls) reply under the same prefix as the adapter's.
        inboxPrefix: options.inboxPrefix,
        servers,
        timeout: options.connectTimeoutMs,
      }),
    );
  } catch (error) {
    // nats.js 3.4.0 abandons a socket that connected but never got the server's INFO (a listener
    // that accepts and says nothing, a SIGSTOPped server): its connect timeout rejects, the socket
    // stays open and keeps the process alive. Close every socket the failed attempt opened.
    for (const socket of attempt.sockets) socket.destroy();
    throw classifyClientError(error, `connect to ${redactUrl(url)}`);
  } finally {
    attempt.open = false;
    attempt.sockets.clear();
    if (--watchers === 0) {
      diagnostics.unsubscribe(SOCKET_CHANNEL, onClientSocket);
      // Node 20 tracks every promise of the process while an AsyncLocalStorage is enabled: stop that
      // once no attempt runs (the connection's later reconnects then carry no attempt, as they should).
      attempts.disable();
    }
  }
}

/** The sockets one connect attempt opened, while it runs. */
interface ConnectAttempt {
  open: boolean;
  readonly sockets: Set<Socket>;
}

/**
 * Node publishes every client socket `net.connect` creates on this channel, synchronously, in the
 * creating code's async context. The attempt running in that context (see {@link attempts}) is the one
 * that opened it: the client dials from within the `connect()` call, so its sockets, and only its own,
 * are seen by it. (A TLS-first connection, `tls.handshakeFirst`, is made by `tls.connect`, which Node 20
 * does not publish.)
 */
const SOCKET_CHANNEL = "net.client.socket";
const attempts = new AsyncLocalStorage<ConnectAttempt>();
let watchers = 0;

function onClientSocket(message: unknown): void {
  const attempt = attempts.getStore();
  const socket = (message as { socket?: unknown } | undefined)?.socket;
  if (attempt?.open === true && socket instanceof Socket) attempt.sockets.add(socket);
}

/** Resolves `fallback` after `ms`, unless `work` settles first; `work`'s rejection is passed on. */
export function within<T>(work: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback()), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * Drains an owned connection within `ms` (the client's drain has no deadline of its own); on timeout
 * the connection is closed at once. Either failure is reported as a {@link TransientError}.
 */
export async function drainWithin(connection: NatsConnection, ms: number): Promise<void> {
  if (connection.isClosed()) return;
  let drained: boolean;
  try {
    drained = await within(
      connection.drain().then(() => true),
      ms,
      () => false,
    );
  } catch (error) {
    await connection.close().catch(() => {});
    throw new TransientError(`draining the NATS connection failed: ${describe(error)}`);
  }
  if (!drained) {
    await connection.close().catch(() => {});
    throw new TransientError(`draining the NATS connection timed out after ${ms} ms; it was closed`);
  }
}

/**
 * Whether the connection is up, as its status events tell, and a way to wait until it is. The client
 * has no such flag of its own; a write that finds the connection down waits here for the reconnect
 * instead of failing at once (see the adapter's `write`).
 */
export class LinkState {
  private up = true;
  private readonly listeners = new Set<() => void>();

  /** True unless a disconnect was seen and no reconnect since. */
  get connected(): boolean {
    return this.up;
  }

  /** The connection was lost. */
  lost(): void {
    this.up = false;
  }

  /** The connection is back: wakes every waiter and listener. */
  restored(): void {
    this.up = true;
    for (const listener of [...this.listeners]) listener();
  }

  /** Calls `listener` at each reconnect until the returned function is called. */
  onRestored(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves true once connected (at once when it is), false after `ms` or when a signal aborts.
   * Never rejects.
   */
  waitUntilUp(ms: number, signals: readonly AbortSignal[]): Promise<boolean> {
    if (this.up) return Promise.resolve(true);
    if (ms <= 0 || signals.some((signal) => signal.aborted)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (up: boolean) => {
        clearTimeout(timer);
        off();
        for (const signal of signals) signal.removeEventListener("abort", onAbort);
        resolve(up);
      };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(this.up), ms);
      const off = this.onRestored(() => finish(true));
      for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Resolves after `ms`, or false at once when a signal aborts first (true otherwise). Never rejects. */
export function pause(ms: number, signals: readonly AbortSignal[]): Promise<boolean> {
  if (signals.some((signal) => signal.aborted)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (slept: boolean) => {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener("abort", onAbort);
      resolve(slept);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Handlers of {@link watchStatus}. */
export interface StatusHandlers {
  readonly onDisconnect: () => void;
  readonly onReconnect: () => void;
  readonly onError: (error: Error) => void;
  /** True once the watcher should stop (checked at each event). */
  readonly stopped: () => boolean;
}

/** Follows the connection's status events until it closes or `stopped()` says so. Never rejects. */
export async function watchStatus(
  connection: NatsConnection,
  handlers: StatusHandlers,
  logger: Logger,
): Promise<void> {
  try {
    for await (const status of connection.status() as AsyncIterable<Status>) {
      if (handlers.stopped()) return;
      switch (status.type) {
        case "disconnect":
          logger.warn({ adapter: "jetstream", server: redactUrl(status.server) }, "NATS connection lost");
          handlers.onDisconnect();
          break;
        case "reconnect":
          logger.info({ adapter: "jetstream", server: redactUrl(status.server) }, "NATS connection restored");
          handlers.onReconnect();
          break;
        case "error":
          logger.error({ adapter: "jetstream", error: describe(status.error) }, "NATS server error");
          handlers.onError(status.error);
          break;
        default:
          break;
      }
    }
  } catch (error) {
    logger.warn({ adapter: "jetstream", error: describe(error) }, "NATS status watch ended");
  }
}
