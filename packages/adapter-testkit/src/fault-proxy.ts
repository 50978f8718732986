import { type Server, type Socket, createConnection, createServer } from "node:net";

/** Options of {@link createFaultProxy}. */
export interface FaultProxyOptions {
  /** The backend's port. */
  readonly targetPort: number;
  /** The backend's host. Default `127.0.0.1`: the proxy is for tests on this machine. */
  readonly targetHost?: string;
}

/** A TCP proxy in front of a backend that can lose a reply (see {@link createFaultProxy}). */
export interface FaultProxy {
  /** The loopback port to point adapters at. */
  readonly port: number;
  /** Replies lost so far. */
  readonly lostReplies: number;
  /**
   * Arms the proxy: the next bytes the backend sends back on any connection are dropped and that
   * connection is cut, so the client never learns the outcome of a request the backend acted on.
   */
  loseNextReply(): void;
  /** Cuts every open connection (both sides), as a network failure would. */
  cutConnections(): void;
  /** Stops listening and cuts every connection. */
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on a free loopback port that forwards to a backend and can lose a reply after
 * the backend applied the request: the fault behind "stored, but the client saw an error" that dedup
 * must make harmless. Pass `proxy.loseNextReply` as the suite's `faults.loseNextReply`.
 */
export async function createFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const host = options.targetHost ?? "127.0.0.1";
  const pairs = new Set<[Socket, Socket]>();
  let armed = false;
  let lost = 0;
  const cut = (pair: [Socket, Socket]) => {
    pair[0].destroy();
    pair[1].destroy();
    pairs.delete(pair);
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host, port: options.targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => {
      if (armed) {
        armed = false;
        lost++;
        cut(pair);
        return;
      }
      client.write(chunk);
    });
    for (const socket of pair) {
      socket.on("error", () => cut(pair));
      socket.on("close", () => cut(pair));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fault proxy has no TCP address");
  return {
    port: address.port,
    get lostReplies() {
      return lost;
    },
    loseNextReply() {
      armed = true;
    },
    cutConnections() {
      for (const pair of [...pairs]) cut(pair);
    },
    close() {
      for (const pair of [...pairs]) cut(pair);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
