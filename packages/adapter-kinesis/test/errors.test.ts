import { inspect } from "node:util";
import { DeleteStreamCommand } from "@aws-sdk/client-kinesis";
import {
  AdapterError,
  BackendBackpressureError,
  ConnectionError,
  FatalError,
  TransientError,
  silentLogger,
} from "@netmesh/core/adapter";
import { freePort } from "@netmesh/test-backends";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KinesisAdapter, KinesisServiceError } from "../src/index.js";
import { Producer, events, live } from "./support/batches.js";
import { REGION, readAll, recordingLogger, useKinesis } from "./support/helpers.js";
import { type KinesisProxy, nextOf, startKinesisProxy } from "./support/kinesis-proxy.js";

const kinesis = useKinesis("errors");
let proxy: KinesisProxy;

beforeAll(async () => {
  proxy = await startKinesisProxy(kinesis.endpoint);
});
afterAll(() => proxy.close());

async function failure(promise: Promise<unknown>): Promise<AdapterError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof AdapterError)) throw new Error(`expected an AdapterError, got ${String(outcome)}`);
  return outcome;
}

describe("error families", () => {
  // maxAttempts 1: the SDK would otherwise retry throttling and 5xx replies itself before we see them.
  const injected = [
    {
      type: "ProvisionedThroughputExceededException",
      status: 400,
      expected: BackendBackpressureError,
      retryable: true,
    },
    { type: "ThrottlingException", status: 400, expected: BackendBackpressureError, retryable: true },
    { type: "InternalFailure", status: 500, expected: TransientError, retryable: true },
    { type: "ServiceUnavailable", status: 503, expected: TransientError, retryable: true },
    { type: "AccessDeniedException", status: 400, expected: FatalError, retryable: false },
    { type: "UnrecognizedClientException", status: 400, expected: FatalError, retryable: false },
    { type: "ValidationException", status: 400, expected: FatalError, retryable: false },
    { type: "InvalidArgumentException", status: 400, expected: FatalError, retryable: false },
    { type: "KMSDisabledException", status: 400, expected: FatalError, retryable: false },
  ] as const;

  for (const { type, status, expected, retryable } of injected) {
    it(`PutRecords answered ${status} ${type} rejects with ${expected.name}`, async () => {
      proxy.rules.length = 0;
      const adapter = await kinesis.ready({ endpoint: proxy.endpoint, maxAttempts: 1 });
      proxy.rules.push(nextOf("PutRecords", { kind: "error", status, type, message: `injected ${type}` }));
      const error = await failure(adapter.onBatch(new Producer().batch(0, events("e", 3)), live()));
      expect(error).toBeInstanceOf(expected);
      expect(error.isRetryable).toBe(retryable);
      expect(error.message).toContain(type);
      if (!retryable) expect(error.message).toMatch(/fatal: .*retrying cannot help/);
      expect(error.cause).toBeInstanceOf(KinesisServiceError);
      expect((error.cause as KinesisServiceError).httpStatusCode).toBe(status);
    });
  }

  // A reply is judged by its code and status: words in the service's message are never evidence.
  const misleading = [
    { type: "SomethingNew", status: 400, message: "socket hang up", expected: FatalError },
    { type: "SomethingNew", status: 400, message: "ECONNRESET other side closed", expected: FatalError },
    { type: "TimeoutError", status: 400, message: "did not establish a connection", expected: FatalError },
    { type: "SomethingNew", status: 502, message: "socket hang up", expected: TransientError },
    { type: "SomethingNew", status: 400, message: "Region is missing", expected: FatalError },
  ] as const;
  for (const { type, status, message, expected } of misleading) {
    it(`a ${status} ${type} reply saying "${message}" is a ${expected.name}, whatever its message`, async () => {
      proxy.rules.length = 0;
      const adapter = await kinesis.ready({ endpoint: proxy.endpoint, maxAttempts: 1 });
      proxy.rules.push(nextOf("PutRecords", { kind: "error", status, type, message }));
      const error = await failure(adapter.onBatch(new Producer().batch(0, events("m", 2)), live()));
      expect(error.constructor).toBe(expected);
      expect((error.cause as KinesisServiceError).httpStatusCode).toBe(status);
    });
  }

  it("GetRecords throttled (LimitExceededException) is backpressure; the next poll succeeds", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, maxAttempts: 1 });
    await adapter.onBatch(new Producer().batch(0, events("r", 3)), live());
    proxy.rules.push(
      nextOf("GetRecords", {
        kind: "error",
        status: 400,
        type: "LimitExceededException",
        message: "Rate exceeded",
      }),
    );
    expect(await failure(adapter.pollShard(0, undefined, 10))).toBeInstanceOf(BackendBackpressureError);
    expect((await adapter.pollShard(0, undefined, 10)).events).toHaveLength(3);
  });

  it("a request Kinesis never answers times out (requestTimeoutMs) as a retryable TransientError", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, maxAttempts: 1, requestTimeoutMs: 300 });
    proxy.rules.push(nextOf("PutRecords", { kind: "hang" }));
    const started = performance.now();
    const error = await failure(adapter.onBatch(new Producer().batch(0, events("t", 2)), live()));
    expect(error).toBeInstanceOf(TransientError);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("isHealthy is bounded by healthCheckTimeoutMs when Kinesis never answers, and true again once it does", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({
      endpoint: proxy.endpoint,
      healthCheckTimeoutMs: 200,
      requestTimeoutMs: 5_000,
    });
    expect(await adapter.isHealthy()).toBe(true);
    proxy.rules.push(nextOf("DescribeStreamSummary", { kind: "hang" }));
    const started = performance.now();
    expect(await adapter.isHealthy()).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(await adapter.isHealthy()).toBe(true);
  });

  it("the bus's abort ends a hanging call at once with a retryable error", async () => {
    proxy.rules.length = 0;
    const adapter = await kinesis.ready({ endpoint: proxy.endpoint, maxAttempts: 1 });
    proxy.rules.push(nextOf("PutRecords", { kind: "hang" }));
    const controller = new AbortController();
    const call = adapter.onBatch(new Producer().batch(0, events("a", 2)), controller.signal);
    setTimeout(() => controller.abort(new Error("attempt timed out")), 50);
    const error = await failure(call);
    expect(error.isRetryable).toBe(true);
  });

  it("an unreachable endpoint is a retryable ConnectionError at init", async () => {
    const adapter = kinesis.create({ endpoint: `http://127.0.0.1:${await freePort()}`, maxAttempts: 1 });
    const error = await failure(adapter.init({ logger: silentLogger }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.isRetryable).toBe(true);
  });

  it("a stream deleted after init: writes and reads are fatal and say the stream does not exist", async () => {
    const adapter = await kinesis.ready();
    await kinesis.admin.send(new DeleteStreamCommand({ StreamName: adapter.settings.streamName }));
    const write = await failure(adapter.onBatch(new Producer().batch(0, events("gone", 1)), live()));
    expect(write).toBeInstanceOf(FatalError);
    expect(write.message).toMatch(/ResourceNotFoundException.*does not exist.*retrying cannot help/);
    expect(await failure(adapter.pollShard(0, undefined, 10))).toBeInstanceOf(FatalError);
    expect(await adapter.isHealthy()).toBe(false);
  });

  it("no region anywhere (no option, no AWS_REGION, no profile) is fatal at init and says what to configure", async () => {
    const saved = { ...process.env };
    for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"]) delete process.env[name];
    process.env.AWS_CONFIG_FILE = "/nonexistent/netmesh-test-aws-config";
    process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/netmesh-test-aws-credentials";
    try {
      const adapter = new KinesisAdapter({
        streamName: "no-region",
        endpoint: kinesis.endpoint,
        credentials: { accessKeyId: "AKIDLOCALTEST", secretAccessKey: "local-test-secret" },
      });
      const error = await failure(adapter.init({ logger: silentLogger }));
      expect(error).toBeInstanceOf(FatalError);
      expect(error.message).toMatch(/region/i);
      expect(error.message).toMatch(/fatal: configure them/);
      await adapter.shutdown();
    } finally {
      process.env = saved;
    }
  });

  it("a missing stream with createStream: false is fatal at init", async () => {
    const error = await failure(kinesis.create({ createStream: false }).init({ logger: silentLogger }));
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toMatch(/does not exist and createStream is false/);
  });

  it("cursors: malformed and foreign ones are fatal; the last id (past the end) reads as the empty page", async () => {
    const adapter = await kinesis.ready({ shardCount: 2 });
    const producer = new Producer();
    await adapter.onBatch(producer.batch(0, events("zero", 3)), live());
    await adapter.onBatch(producer.batch(1, events("one", 3)), live());
    const zero = await readAll(adapter, 0);
    const one = await readAll(adapter, 1);
    for (const bad of ["abc", "-1", "1e5", "01", "", " 1", "1".repeat(130)]) {
      expect(await failure(adapter.pollShard(0, bad, 10)), JSON.stringify(bad)).toBeInstanceOf(FatalError);
    }
    // A sequence number of the Kinesis shard holding bus shard 1 is not one of bus shard 0's shards.
    const fresh = await kinesis.ready({ streamName: adapter.settings.streamName });
    const foreign = await failure(fresh.pollShard(0, one.at(-1)!.id, 10));
    expect(foreign).toBeInstanceOf(FatalError);
    expect(foreign.message).toMatch(/not a sequence number/);
    // A decimal above the last id is not a sequence number Kinesis produced (they have an inner
    // structure): Kinesis refuses it as a starting point, and so does the reader.
    const above = (BigInt(zero.at(-1)!.id) + 1n).toString();
    for (const reader of [adapter, await kinesis.ready({ streamName: adapter.settings.streamName })]) {
      const refused = await failure(reader.pollShard(0, above, 10));
      expect(refused).toBeInstanceOf(FatalError);
      expect(refused.message).toMatch(/not a sequence number/);
    }
    for (const reader of [adapter, fresh]) {
      expect(await reader.pollShard(0, zero.at(-1)!.id, 10)).toEqual({
        events: [],
        nextId: undefined,
        hasMore: false,
      });
    }
  });
});

/** Every string reachable from `value`: own properties (enumerable or not), prototypes' names, causes. */
function reachableStrings(value: unknown, depth = 12, seen = new Set<unknown>()): string[] {
  if (typeof value === "string") return [value];
  if (typeof value !== "object" || value === null || seen.has(value) || depth === 0) return [];
  seen.add(value);
  const found: string[] = [];
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === "string") found.push(key);
    const descriptor = Object.getOwnPropertyDescriptor(value, key);
    const inner = descriptor && "value" in descriptor ? descriptor.value : undefined;
    found.push(...reachableStrings(inner, depth - 1, seen));
  }
  return found;
}

describe("credentials never appear in errors or logs", () => {
  const secrets = {
    accessKeyId: "AKIAQWERTYUIOPASDFGH",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY",
    sessionToken: "FwoGZXIvYXdzEEXAMPLESESSIONTOKENxyzVeryLongValue0123456789",
  };
  const forbidden = [secrets.accessKeyId, secrets.secretAccessKey, secrets.sessionToken, "pa55word"];

  function expectClean(error: unknown, logs: ReturnType<typeof recordingLogger>, what: string): void {
    const texts = [
      ...reachableStrings(error),
      JSON.stringify(error),
      inspect(error, { depth: 10, showHidden: true }),
      String(error),
      ...logs.lines.map(
        (line) => `${line.message} ${JSON.stringify(line.fields)} ${inspect(line.fields, { depth: 10 })}`,
      ),
    ];
    for (const text of texts) {
      for (const secret of forbidden)
        expect(text.includes(secret), `${what}: a secret in ${text.slice(0, 300)}`).toBe(false);
    }
  }

  it("not when the service echoes the signed request (signature mismatch), nor when the endpoint is unreachable", async () => {
    proxy.rules.length = 0;
    const logs = recordingLogger();
    const adapter = kinesis.create({
      endpoint: proxy.endpoint,
      credentials: secrets,
      maxAttempts: 1,
      logger: logs,
    });
    await adapter.init({ logger: logs });
    // What AWS answers to a bad signature: the canonical request, headers (and session token) included.
    proxy.rules.push((operation, _body, headers) =>
      operation === "PutRecords"
        ? {
            kind: "error",
            status: 400,
            type: "InvalidSignatureException",
            message:
              `The request signature we calculated does not match the signature you provided. ` +
              `Authorization: ${String(headers.authorization)}; x-amz-security-token:${String(headers["x-amz-security-token"])}; ` +
              `secret ${secrets.secretAccessKey}`,
          }
        : undefined,
    );
    const signature = await failure(adapter.onBatch(new Producer().batch(0, events("s", 2)), live()));
    expect(signature).toBeInstanceOf(FatalError);
    expect(signature.message).toContain("[REDACTED]");
    expectClean(signature, logs, "signature mismatch");

    const closed = new KinesisAdapter({
      streamName: "unreachable",
      endpoint: `http://user:pa55word@127.0.0.1:${await freePort()}`,
      region: REGION,
      credentials: secrets,
      maxAttempts: 1,
    });
    const unreachable = await failure(closed.init({ logger: logs }));
    expect(unreachable).toBeInstanceOf(ConnectionError);
    expectClean(unreachable, logs, "unreachable endpoint");
    await closed.shutdown();
    expectClean(closed.settings, logs, "settings");
    expect(JSON.stringify(closed.settings)).not.toContain("secretAccessKey");
  });

  it("not when a record's failure in a PutRecords reply quotes them (fatal, or throttled until the writer gives up)", async () => {
    proxy.rules.length = 0;
    const logs = recordingLogger();
    const adapter = kinesis.create({
      endpoint: proxy.endpoint,
      credentials: secrets,
      partialFailureRetries: 0,
    });
    await adapter.init({ logger: logs });
    const quoting = `key ${secrets.accessKeyId} secret ${secrets.secretAccessKey} token ${secrets.sessionToken}`;
    for (const code of ["KMSAccessDeniedException", "ProvisionedThroughputExceededException"]) {
      proxy.rules.push(
        nextOf("PutRecords", { kind: "fail-records", failed: new Set([0]), code, message: quoting }),
      );
      const error = await failure(adapter.onBatch(new Producer().batch(0, events("q", 2)), live()));
      expect(error.message).toContain(code);
      expect(error.cause).toBeInstanceOf(KinesisServiceError);
      expect((error.cause as KinesisServiceError).code).toBe(code);
      expectClean(error, logs, `record failure ${code}`);
    }
  });

  it("not when the credentials come from a provider function", async () => {
    proxy.rules.length = 0;
    const logs = recordingLogger();
    const adapter = kinesis.create({
      endpoint: proxy.endpoint,
      credentials: async () => ({ ...secrets }),
      maxAttempts: 1,
    });
    await adapter.init({ logger: logs });
    proxy.rules.push((operation, _body, headers) =>
      operation === "GetShardIterator"
        ? {
            kind: "error",
            status: 400,
            type: "UnrecognizedClientException",
            message: `token ${String(headers["x-amz-security-token"])}`,
          }
        : undefined,
    );
    const error = await failure(adapter.pollShard(0, undefined, 5));
    expect(error).toBeInstanceOf(FatalError);
    expectClean(error, logs, "provider credentials");
  });
});
