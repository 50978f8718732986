import { type Socket, createConnection, createServer } from "node:net";

/** A TCP proxy in front of a server that can fall silent, as a network partition does. */
export interface Blackhole {
  /** The loopback port to point the client at. */
  readonly port: number;
  /** From now on, nothing passes either way; connections stay open (no reset, no FIN). */
  silence(): void;
  /** Ends the partition: the silenced connections are cut, new ones are forwarded again. */
  heal(): void;
  /** Stops listening and cuts every connection. */
  close(): Promise<void>;
}

/** Starts a {@link Blackhole} to `127.0.0.1:targetPort` on a free loopback port. */
export async function startBlackhole(targetPort: number): Promise<Blackhole> {
  let silent = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.on("data", (data: Buffer) => silent || upstream.write(data));
    upstream.on("data", (data: Buffer) => silent || client.write(data));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("blackhole: no port");
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port: address.port,
    silence: () => {
      silent = true;
    },
    heal: () => {
      cut();
      silent = false;
    },
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
