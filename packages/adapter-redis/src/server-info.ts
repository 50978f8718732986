import type { Cluster, Redis } from "ioredis";
import { bounded } from "./bounded.js";

/**
 * The server's `proto-max-bulk-len`: the largest argument it accepts (a larger one makes it drop the
 * connection, taking every queued command with it). `undefined` when it cannot be read (`CONFIG` is
 * renamed or forbidden on many managed services), in which case the adapter's setting stands.
 */
export async function serverBulkLimit(client: Redis | Cluster, ms: number): Promise<number | undefined> {
  try {
    const reply = (await bounded(client.config("GET", "proto-max-bulk-len"), ms, "CONFIG GET")) as unknown;
    const value = Array.isArray(reply) ? Number(reply[1]) : Number.NaN;
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `prefix` with the glob characters of `SCAN MATCH` escaped. */
function globEscape(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function regexEscape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Scans one node for the prefix's shard streams, adding their shard ids to `found`. */
async function scanNode(node: Redis, prefix: string, ms: number, found: Set<number>): Promise<void> {
  const pattern = `{${globEscape(prefix)}:shard:*}`;
  const exact = new RegExp(`^\\{${regexEscape(prefix)}:shard:(0|[1-9]\\d{0,4})\\}$`);
  let cursor = "0";
  do {
    const [next, keys] = await bounded(
      node.scan(cursor, "MATCH", pattern, "COUNT", 1000, "TYPE", "stream"),
      ms,
      "SCAN",
    );
    cursor = next;
    for (const key of keys) {
      const match = exact.exec(key);
      if (match !== null && Number(match[1]) <= 0xfffe) found.add(Number(match[1]));
    }
  } while (cursor !== "0");
}

/**
 * The shard ids whose streams exist under `prefix`, ascending: one `SCAN … TYPE stream` walk per node,
 * every master of a cluster (each holds its own slots). Each call of the walk is bounded by `ms`.
 */
export async function listShardStreams(
  client: Redis | Cluster,
  prefix: string,
  ms: number,
): Promise<number[]> {
  const found = new Set<number>();
  const nodes = (client as Cluster).isCluster ? (client as Cluster).nodes("master") : [client as Redis];
  for (const node of nodes) await scanNode(node, prefix, ms, found);
  return [...found].sort((a, b) => a - b);
}
