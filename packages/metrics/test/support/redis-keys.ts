import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";

/** A key prefix no other test run uses. */
export function uniquePrefix(what: string): string {
  return `netmesh-metrics-test:${what}:${randomUUID().slice(0, 8)}`;
}

/** Deletes every key of `prefix` (stream keys are `{<prefix>:shard:<id>}`, marks follow the braces). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `{${prefix}:*`, "COUNT", 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    client.disconnect();
  }
}

/** How many keys of `prefix` exist. */
export async function countKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url);
  try {
    let cursor = "0";
    let count = 0;
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `{${prefix}:*`, "COUNT", 1000);
      count += keys.length;
      cursor = next;
    } while (cursor !== "0");
    return count;
  } finally {
    client.disconnect();
  }
}
