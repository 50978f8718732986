import { runAdapterConformance } from "@netmesh/adapter-testkit";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { deleteKeys, keysOf } from "./support/helpers.js";

const url = inject("redisUrl");
// One prefix per run and case: the testkit's namespace is unique per case, the run tag per process.
const run = `conf-${process.pid}-${Date.now().toString(36)}`;
let cleaner: Redis | undefined;

// The full contract, nothing switched off: readable, dedup, persistent, ordered, 1 MiB events.
runAdapterConformance({
  name: "redis",
  create: ({ namespace }) => new RedisAdapter({ url, prefix: `${run}-${namespace}` }),
  setup: () => {
    cleaner = new Redis(url);
  },
  reset: async ({ namespace }) => {
    const prefix = `${run}-${namespace}`;
    await deleteKeys(cleaner!, prefix);
    const left = await keysOf(cleaner!, prefix);
    if (left.length > 0) throw new Error(`keys left after clean-up: ${left.join(", ")}`);
  },
  teardown: () => {
    cleaner?.disconnect();
  },
});
