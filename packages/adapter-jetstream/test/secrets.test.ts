import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { credsAuthenticator, nkeyAuthenticator, nkeys } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { TestProducer } from "@netmesh/adapter-testkit";
import { createBus } from "@netmesh/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter, type JetStreamAdapterOptions } from "../src/index.js";
import { type LogLine, liveSignal, recordingLogger } from "./support/nats.js";
import { credsFile, operatorSetup } from "./support/nats-auth.js";
import { type OwnServer, startOwnServer } from "./support/own-server.js";

/** Every string reachable from `value`: own properties (enumerable or not), the cause chain, at any depth. */
function strings(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === "string") return [value];
  if (typeof value !== "object" || value === null || seen.has(value)) return [];
  seen.add(value);
  const found: string[] = [];
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === "string") found.push(key);
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    if (descriptor !== undefined && "value" in descriptor) found.push(...strings(descriptor.value, seen));
  }
  // Getters (e.g. an AdapterError's `code`) are on the prototype: what they return counts too.
  for (const key of ["message", "stack", "name", "code", "cause"] as const) {
    found.push(...strings((value as Record<string, unknown>)[key], seen));
  }
  return found;
}

/** Everything the logger was given, as text (fields at any depth, hidden properties included). */
function logText(log: readonly LogLine[]): string {
  return log
    .map((line) => `${line.message} ${inspect(line.fields, { depth: 20, showHidden: true })}`)
    .join("\n");
}

function expectNoSecret(error: unknown, secrets: readonly string[], log: readonly LogLine[]): void {
  const texts = [
    ...strings(error),
    String(error),
    JSON.stringify(error) ?? "",
    inspect(error, { depth: 20, showHidden: true }),
    logText(log),
  ];
  for (const secret of secrets) {
    for (const text of texts) expect(text).not.toContain(secret);
  }
}

/** The rejection of `work` (it must reject). */
async function failure(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => expect.fail("expected a failure"),
    (error: unknown) => error,
  );
}

// Every way the options can carry a NATS credential (URL user-info, percent-encoded or not;
// connectOptions user/pass and token; an nkey seed or a creds file through an authenticator), wrong,
// against a server of the test's own configured for it: createBus fails, and no string reachable from
// the error (message, stack, every own property at any depth, the cause chain, its JSON and its
// inspection) nor any log line holds the secret.
describe("no secret escapes a failed createBus", () => {
  const writerPass = "Right-s3cret-Pw";
  const rightToken = "Right-s3cret-Token";
  const nkeyUser = nkeys.createUser();
  const operator = operatorSetup();
  let users: OwnServer;
  let tokens: OwnServer;
  let decentralized: OwnServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "netmesh-js-secrets-"));
    const operatorPath = join(dir, "operator.jwt");
    writeFileSync(operatorPath, operator.operatorJwt);
    users = await startOwnServer(`authorization {
  users = [
    { user: "writer", password: "${writerPass}" }
    { user: "limited", password: "Limited-s3cret-Pw", permissions: { publish: { deny: ["limited.shard.>"] } } }
    { nkey: "${nkeyUser.getPublicKey()}" }
  ]
}`);
    tokens = await startOwnServer(`authorization { token: "${rightToken}" }`);
    // Without JetStream: in operator mode it needs a system account, and the connect fails before it.
    decentralized = await startOwnServer(operator.serverConfig(operatorPath), false);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([users?.stop(), tokens?.stop(), decentralized?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("each server takes its right credential (so the failures below are the wrong credential's)", async () => {
    const good = [
      { servers: users.url(), user: "writer", pass: writerPass },
      { servers: tokens.url(), token: rightToken },
      { servers: users.url(), authenticator: nkeyAuthenticator(nkeyUser.getSeed()) },
      (() => {
        const user = operator.user("right");
        return {
          servers: decentralized.url(),
          authenticator: credsAuthenticator(new TextEncoder().encode(credsFile(user.jwt, user.seed))),
        };
      })(),
    ];
    for (const options of good) {
      const nc = await connect({ ...options, timeout: 5_000 });
      await nc.close();
    }
  });

  const wrongPass = "Wr0ng-s3cret-Pw";
  const wrongToken = "Wr0ng-s3cret-Token";
  const otherUser = nkeys.createUser();
  const otherSeed = new TextDecoder().decode(otherUser.getSeed());
  const cases: [string, () => Partial<JetStreamAdapterOptions>, string[]][] = [
    ["user:password in the URL", () => ({ url: users.url("writer", wrongPass) }), [wrongPass]],
    [
      "a percent-encoded password in the URL",
      () => ({ url: users.url("writer", "Wr0ng%40s3cret%3Apw") }),
      ["Wr0ng@s3cret:pw", "Wr0ng%40s3cret%3Apw"],
    ],
    ["a token in the URL", () => ({ url: `nats://${wrongToken}@127.0.0.1:${tokens.port}` }), [wrongToken]],
    [
      "user and pass in connectOptions",
      () => ({ url: users.url(), connectOptions: { user: "writer", pass: wrongPass } }),
      [wrongPass],
    ],
    [
      "a token in connectOptions",
      () => ({ url: tokens.url(), connectOptions: { token: wrongToken } }),
      [wrongToken],
    ],
    [
      "an nkey seed (nkeyAuthenticator) of a user the server does not know",
      () => ({ url: users.url(), connectOptions: { authenticator: nkeyAuthenticator(otherUser.getSeed()) } }),
      [otherSeed],
    ],
    [
      "a creds file (credsAuthenticator) whose seed is not its JWT's user",
      () => {
        const user = operator.user("wrong");
        const path = join(dir, "wrong.creds");
        writeFileSync(path, credsFile(user.jwt, otherSeed));
        return {
          url: decentralized.url(),
          connectOptions: { authenticator: credsAuthenticator(readFileSync(path)) },
        };
      },
      [otherSeed],
    ],
  ];

  it.each(cases)("%s", async (_, options, secrets) => {
    const log: LogLine[] = [];
    const adapter = new JetStreamAdapter({
      prefix: "secrets",
      connectTimeoutMs: 5_000,
      ...options(),
    } as JetStreamAdapterOptions);
    const error = await failure(createBus({ adapter, logger: recordingLogger(log) }));
    expect(String(error)).toMatch(/authori[sz]ation/i);
    expectNoSecret(error, secrets, log);
    // The user-info of a URL is shown redacted, not dropped.
    if (options().url?.includes("@") === true) expect(String(error)).toContain("[REDACTED]@127.0.0.1");
    await adapter.shutdown();
  });

  it("a right password for a user the server denies a publish: the write's failure and the logs hold no password", async () => {
    const log: LogLine[] = [];
    const adapter = new JetStreamAdapter({
      url: users.url("limited", "Limited-s3cret-Pw"),
      prefix: "limited",
    });
    await adapter.init({ logger: recordingLogger(log) });
    try {
      const error = await failure(adapter.onBatch(new TestProducer().batch(0, ['{"a":1}']), liveSignal()));
      expect(String(error)).toMatch(/permission/i);
      expectNoSecret(error, ["Limited-s3cret-Pw", writerPass], log);
    } finally {
      await adapter.shutdown();
    }
    expectNoSecret(undefined, ["Limited-s3cret-Pw"], log);
  });
});
