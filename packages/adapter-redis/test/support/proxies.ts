import { type Server, type Socket, createConnection, createServer } from "node:net";

/** A loopback proxy to a server: its port, and how to close it with every connection it holds. */
export interface Proxy {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A loopback proxy to `targetPort` whose connections are set up by `pipe`: it gets the client's side
 * (`down`) and the server's (`up`), and the index of the connection (0 for the first accepted).
 */
async function startProxy(
  targetPort: number,
  pipe: (down: Socket, up: Socket, index: number) => void,
): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((down) => {
    const up = createConnection({ host: "127.0.0.1", port: targetPort });
    sockets.add(down).add(up);
    pipe(down, up, accepted++);
    down.on("data", (data: Buffer) => up.write(data));
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on("close", end).on("error", end);
    up.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no port");
  return {
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A deterministic stream of piece sizes in [1, max]. */
function pieceSizes(seed: number, max: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return 1 + (state % max);
  };
}

/**
 * A loopback proxy that hands the server's replies to the client in small pieces, each in its own
 * turn of the event loop, so a reply reaches the decoder cut at arbitrary bytes (inside a length,
 * between CR and LF, inside a multi-byte character).
 */
export function startTrickleProxy(targetPort: number, maxPiece: number): Promise<Proxy> {
  return startProxy(targetPort, (down, up) => {
    down.setNoDelay(true);
    const next = pieceSizes(down.remotePort ?? 1, maxPiece);
    let queue = Promise.resolve();
    up.on("data", (data: Buffer) => {
      queue = queue.then(async () => {
        for (let at = 0; at < data.length && !down.destroyed; ) {
          const size = next();
          down.write(data.subarray(at, at + size));
          at += size;
          await new Promise((resolve) => setImmediate(resolve));
        }
      });
    });
  });
}

/** A loopback proxy whose connection number `deaf` (0 for the first accepted) forwards requests but never a reply. */
export function startDeafProxy(targetPort: number, deaf: number): Promise<Proxy> {
  return startProxy(targetPort, (down, up, index) => {
    if (index !== deaf) up.on("data", (data: Buffer) => down.write(data));
  });
}
