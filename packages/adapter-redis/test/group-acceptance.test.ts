import { fileURLToPath } from "node:url";
import { describeGroupAcceptance } from "@netmesh/adapter-testkit";
import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";
import { deleteKeys, uniquePrefix } from "./support/helpers.js";

// The consumer-group acceptance run on Redis, with real processes (see the testkit's
// `runGroupAcceptance`). Events per producer process: NETMESH_ACCEPTANCE_EVENTS, 25,000 by default
// (the acceptance figure, 250,000 — 1 M in all — runs in about a minute here).
const url = inject("redisUrl");
process.env.NETMESH_REDIS_URL = url; // for the child processes
const prefixes: string[] = [];
afterAll(async () => {
  const redis = new Redis(url);
  for (const prefix of prefixes) await deleteKeys(redis, prefix);
  redis.disconnect();
});

describeGroupAcceptance({
  name: "Redis",
  script: fileURLToPath(new URL("./support/acceptance-child.ts", import.meta.url)),
  execArgv: ["--import", "tsx"],
  namespace: (tag) => {
    const prefix = uniquePrefix(tag);
    prefixes.push(prefix);
    return prefix;
  },
});
