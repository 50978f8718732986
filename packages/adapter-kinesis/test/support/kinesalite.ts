import type { Server } from "node:http";
import { createRequire } from "node:module";
import { freePort } from "@netmesh/test-backends";

/** kinesalite's factory (the package ships no types). */
type Kinesalite = (options: {
  createStreamMs?: number;
  deleteStreamMs?: number;
  updateStreamMs?: number;
  shardLimit?: number;
}) => Server;

/** A kinesalite listening on a free loopback port. */
export interface LocalKinesis {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  /** The HTTP server (for counting connections). */
  readonly server: Server;
  /** Stops listening and closes the in-memory store. */
  close(): Promise<void>;
}

/**
 * Starts kinesalite in this process (an in-memory Kinesis; no Java, no Docker) on a free port of
 * 127.0.0.1 only. Stream creation, deletion and resharding take `delayMs` (default 0: instant).
 */
export async function startKinesalite(
  options: { delayMs?: number; shardLimit?: number } = {},
): Promise<LocalKinesis> {
  const kinesalite = createRequire(import.meta.url)("kinesalite") as Kinesalite;
  const delay = options.delayMs ?? 0;
  const server = kinesalite({
    createStreamMs: delay,
    deleteStreamMs: delay,
    updateStreamMs: delay,
    shardLimit: options.shardLimit ?? 100_000,
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
