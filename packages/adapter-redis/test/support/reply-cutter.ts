import { type Server, type Socket, createConnection, createServer } from "node:net";

/**
 * A TCP proxy in front of a Redis server that can lose a reply on purpose: it forwards a script call
 * (EVALSHA or EVAL) to the server, lets the server run it, then drops the server's reply and cuts the
 * client's connection. The client saw nothing; the server applied everything. That is exactly the
 * "applied, but the reply was lost" failure a retry must not duplicate.
 */
export interface ReplyCutter {
  /** Port to connect the client to (on 127.0.0.1). */
  readonly port: number;
  /** Script calls (EVALSHA/EVAL requests) forwarded to the server so far. */
  readonly scriptCalls: number;
  /** Replies dropped (connections cut) so far. */
  readonly cuts: number;
  /** Cut the reply of the next `n` script calls (default 1), each on its own connection. */
  cutNext(n?: number): void;
  /** Stops the proxy and drops every connection. */
  close(): Promise<void>;
}

/** RESP of the command name as ioredis sends it: `$7\r\nevalsha\r\n` or `$4\r\neval\r\n`. */
const SCRIPT_CALL = /\$7\r\nevalsha\r\n|\$4\r\neval\r\n/gi;

/** Starts a proxy to `127.0.0.1:targetPort` on a free loopback port. */
export async function startReplyCutter(targetPort: number): Promise<ReplyCutter> {
  let scriptCalls = 0;
  let cuts = 0;
  let toCut = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    sockets.add(client);
    sockets.add(upstream);
    // Set when a script call went out on this connection while a cut was pending: its reply is lost.
    let cutting = false;
    client.on("data", (data: Buffer) => {
      const calls = data.toString("latin1").match(SCRIPT_CALL)?.length ?? 0;
      scriptCalls += calls;
      if (calls > 0 && toCut > 0 && !cutting) {
        toCut--;
        cutting = true;
      }
      upstream.write(data);
    });
    upstream.on("data", (data: Buffer) => {
      if (cutting) {
        // The server has run the script and is answering: the answer never arrives.
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(data);
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", closeBoth);
    upstream.on("close", closeBoth);
    client.on("error", closeBoth);
    upstream.on("error", closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no TCP address");
  return {
    port: address.port,
    get scriptCalls() {
      return scriptCalls;
    },
    get cuts() {
      return cuts;
    },
    cutNext(n = 1) {
      toCut += n;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
