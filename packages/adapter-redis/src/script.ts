import { createHash } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { replyCode } from "./classify.js";

/**
 * A Lua script called by its SHA-1 (EVALSHA, so the body is not resent with every batch). It is loaded
 * once at `init` (on every master of a cluster); when a server answers `NOSCRIPT` (after `SCRIPT
 * FLUSH`, a restart or a failover to a node that never saw it), that one call is repeated as EVAL with
 * the body, which also puts the script back into that server's cache, so the next calls hit again.
 */
export class Script {
  /** The SHA-1 Redis files the body under. */
  readonly sha: string;
  private reloads = 0;

  constructor(readonly body: string) {
    this.sha = createHash("sha1").update(body).digest("hex");
  }

  /** How many calls fell back to EVAL after `NOSCRIPT`. */
  get reloadCount(): number {
    return this.reloads;
  }

  /** Loads the body into the script cache of every server that may run it; checks the digest. */
  async load(client: Redis | Cluster): Promise<void> {
    const servers = client.isCluster ? (client as Cluster).nodes("master") : [client as Redis];
    await Promise.all(
      servers.map(async (server) => {
        const sha = await server.script("LOAD", this.body);
        if (sha !== this.sha)
          throw new Error(`SCRIPT LOAD returned digest ${String(sha)}, expected ${this.sha}`);
      }),
    );
  }

  /**
   * Calls the script with `keysAndArgs` (the first `keyCount` are keys). Calls issued one after another
   * reach the server in that order, and so do their NOSCRIPT fallbacks: each fallback is sent from the
   * rejection handler of its own call, and ioredis settles replies in order.
   */
  run(client: Redis | Cluster, keyCount: number, keysAndArgs: (string | Buffer)[]): Promise<unknown> {
    return client.evalsha(this.sha, keyCount, keysAndArgs).catch((error: unknown) => {
      if (replyCode(error) !== "NOSCRIPT") throw error;
      this.reloads++;
      return client.eval(this.body, keyCount, keysAndArgs);
    });
  }
}
