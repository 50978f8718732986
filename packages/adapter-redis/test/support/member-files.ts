import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The lines `shard:id` a member process (support/group-member.ts) wrote to `dir/member` so far. */
export function memberLines(dir: string, member: string): string[] {
  try {
    return readFileSync(join(dir, member), "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** Polls `condition` every 20 ms until it holds; throws naming `what` after `ms`. */
export async function waitUntil(
  what: string,
  condition: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
