import { ensureRedis } from "@netmesh/test-backends";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The shared Redis the tests run against (REDIS_URL, or 127.0.0.1:6379 started if needed). */
    redisUrl: string;
  }
}

/** Makes sure the shared Redis runs, once per test run, and hands its URL to every test file. */
export default async function setup(project: TestProject): Promise<void> {
  project.provide("redisUrl", process.env.REDIS_URL ?? (await ensureRedis()));
}
