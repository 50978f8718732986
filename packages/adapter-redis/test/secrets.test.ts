import { inspect } from "node:util";
import { createBus } from "@netmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisAdapter, type RedisAdapterOptions } from "../src/index.js";
import { recordingLogger } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

/** Every string reachable from `value`: own properties (enumerable or not), the cause chain, at any depth. */
function strings(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === "string") return [value];
  if (typeof value !== "object" || value === null || seen.has(value)) return [];
  seen.add(value);
  const found: string[] = [];
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor !== undefined && "value" in descriptor) found.push(...strings(descriptor.value, seen));
  }
  return found;
}

function expectNoSecret(error: unknown, secret: string, logText: string): void {
  for (const text of strings(error)) expect(text).not.toContain(secret);
  expect(JSON.stringify(error)).not.toContain(secret);
  expect(inspect(error, { depth: 20, showHidden: true })).not.toContain(secret);
  expect(String(error)).not.toContain(secret);
  expect(logText).not.toContain(secret);
}

// A credential can be given in a URL, in redisOptions, or as an ACL user's password: a failure must
// not carry it anywhere, in the error, its cause chain (ioredis keeps the AUTH command's arguments) or
// a log line.
describe("no secret escapes", () => {
  const rootPassword = "Root-s3cret-Pw";
  const userPassword = "User-s3cret-Pw";
  let server: OwnRedis;
  beforeAll(async () => {
    server = await startOwnRedis(["--requirepass", rootPassword]);
  });
  afterAll(() => server.stop());

  const wrong = "Wr0ng-s3cret-Pw";
  const cases: [string, () => RedisAdapterOptions, string][] = [
    ["a wrong password in the URL", () => ({ url: server.url("default", wrong) }), wrong],
    ["a wrong password-only URL", () => ({ url: `redis://:${wrong}@127.0.0.1:${server.port}` }), wrong],
    [
      "a wrong percent-encoded password",
      () => ({ url: server.url("default", "Wr0ng%40s3cret") }),
      "Wr0ng@s3cret",
    ],
    [
      "a wrong password holding an unencoded @",
      () => ({ url: `redis://default:Wr0ng@s3cret-Pw@127.0.0.1:${server.port}` }),
      "Wr0ng@s3cret-Pw",
    ],
    [
      "a wrong password in redisOptions",
      () => ({ redisOptions: { host: "127.0.0.1", port: server.port, password: wrong } }),
      wrong,
    ],
    [
      "an ACL user with a wrong password",
      () => ({ redisOptions: { host: "127.0.0.1", port: server.port, username: "app", password: wrong } }),
      wrong,
    ],
  ];

  it.each(cases)(
    "%s: createBus fails with no secret in the error, its causes, or the logs",
    async (_, options, secret) => {
      const logger = recordingLogger();
      const adapter = new RedisAdapter({ ...options(), prefix: "secrets", connectTimeoutMs: 3_000 });
      const error = await createBus({ adapter, logger }).then(
        () => expect.fail("createBus must fail"),
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(Error);
      expectNoSecret(error, secret, logger.text());
      await adapter.shutdown();
    },
  );

  it("a right ACL password for a user without script permission: the failure holds neither password", async () => {
    const admin = new RedisAdapter({ url: server.url("default", rootPassword), prefix: "secrets-admin" });
    await admin.init({ logger: recordingLogger() });
    await admin.client.call(
      "ACL",
      "SETUSER",
      "limited",
      "on",
      `>${userPassword}`,
      "~*",
      "+@read",
      "+@connection",
    );
    await admin.shutdown();
    const logger = recordingLogger();
    const adapter = new RedisAdapter({ url: server.url("limited", userPassword), prefix: "secrets" });
    const error = await createBus({ adapter, logger }).catch((failure: unknown) => failure);
    expect(String(error)).toMatch(/NOPERM/);
    expectNoSecret(error, userPassword, logger.text());
    expectNoSecret(error, rootPassword, logger.text());
    await adapter.shutdown();
  });
});
