import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ensureBinary, ensureNats, ensureRedis, freePort } from "@netmesh/test-backends";
import { describe, expect, it } from "vitest";
import { root } from "./support/repo.js";

describe("the set-up step (npm run setup, the first step of npm test)", () => {
  it("only checks when everything is there: exit 0, in seconds, nothing installed", () => {
    const started = performance.now();
    const setup = spawnSync(process.execPath, [join(root, "tooling/scripts/setup.mjs")], {
      encoding: "utf8",
      env: { ...process.env, REDIS_URL: "", NATS_URL: "" },
    });
    const ms = performance.now() - started;
    expect(setup.stderr).toBe("");
    expect(setup.status).toBe(0);
    expect(setup.stdout).not.toMatch(/installing/);
    expect(setup.stdout).toMatch(/redis-server (running|started) on 127\.0\.0\.1:6379/);
    expect(setup.stdout).toMatch(/nats-server \(JetStream\) (running|started) on 127\.0\.0\.1:4222/);
    expect(setup.stdout).toMatch(/chromium at \/usr\/bin\/chromium/);
    // About 0.1 s on an idle machine; an apt-get update alone takes longer than this bound, which
    // leaves room for a loaded two-core runner.
    expect(ms).toBeLessThan(5_000);
  });
});

describe("the test helpers never install or start a shared server", () => {
  it("reject with the set-up command when the shared Redis or NATS is absent", async () => {
    const port = await freePort();
    await expect(ensureRedis(port)).rejects.toThrow(/run the set-up: npm run setup/);
    await expect(ensureNats(port)).rejects.toThrow(/run the set-up: npm run setup/);
  });

  it("throw with the set-up command when a binary is missing", () => {
    expect(() => ensureBinary("netmesh-no-such-binary", "netmesh-no-such-package")).toThrow(
      /netmesh-no-such-binary is not installed: run the set-up: npm run setup/,
    );
  });

  it("accept the shared servers the set-up started", async () => {
    await expect(ensureRedis()).resolves.toBe("redis://127.0.0.1:6379");
    await expect(ensureNats()).resolves.toBe("nats://127.0.0.1:4222");
  });
});
