import type { Shard } from "@aws-sdk/client-kinesis";
import { describe, expect, it } from "vitest";
import { classifyKind } from "../src/classify.js";
import { DedupState } from "../src/dedup.js";
import { hashKeyOf } from "../src/hash-keys.js";
import { KinesisAdapter, decodeRecord, partitionKeyOf } from "../src/index.js";
import { chainOf } from "../src/lineage.js";
import { resolveSettings } from "../src/options.js";
import { HEADER_BYTES, writeHeader } from "../src/record-format.js";
import { Redactor } from "../src/redaction.js";

describe("record format", () => {
  function record(
    json: string,
    sequence = 42,
    timestamp = 1_700_000_000_123_456,
    request = 0xfffffffe,
    index = 499,
  ) {
    const text = Buffer.from(json, "utf8");
    const data = Buffer.alloc(HEADER_BYTES + text.length);
    writeHeader(data, 0, {
      producer: Buffer.from("9f86d081884c7d65", "hex"),
      sequence,
      timestamp,
      request,
      index,
    });
    text.copy(data, HEADER_BYTES);
    return data;
  }

  it("round-trips every field, the text byte for byte (BOM, separators, escapes), sequences up to 2^53 − 1", () => {
    const json = '\ufeff{"a":"\u2028😀","b":"\\u0000"} ';
    const decoded = decodeRecord(record(json, Number.MAX_SAFE_INTEGER, 1.5));
    expect(decoded).toEqual({
      ok: true,
      record: {
        producer: "9f86d081884c7d65",
        sequence: Number.MAX_SAFE_INTEGER,
        timestamp: 1.5,
        request: 0xfffffffe,
        index: 499,
        json,
      },
    });
    expect(HEADER_BYTES).toBe(31);
    expect(partitionKeyOf(0)).toBe("0000");
    expect(partitionKeyOf(65_534)).toBe("fffe");
  });

  it("refuses what the adapter cannot have written", () => {
    const good = record("{}");
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 30), /shorter than the header/],
      [Buffer.concat([Buffer.from([2]), good.subarray(1)]), /unknown record format/],
      [Buffer.concat([good.subarray(0, 1), Buffer.alloc(8), good.subarray(9)]), /all zeros/],
      [Buffer.concat([record("{}").subarray(0, HEADER_BYTES), Buffer.from([0xc3, 0x28])]), /not valid UTF-8/],
    ];
    const huge = record("{}");
    huge.writeUInt32BE(0x00200000, 9); // 2^53
    cases.push([huge, /beyond 2\^53/]);
    const nan = record("{}");
    nan.writeDoubleBE(Number.NaN, 17);
    cases.push([nan, /not finite/]);
    for (const [data, reason] of cases) {
      const decoded = decodeRecord(data);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) expect(decoded.reason).toMatch(reason);
    }
  });
});

describe("hash keys", () => {
  const evenSplit = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      start: (2n ** 128n * BigInt(i)) / BigInt(count),
      end: (2n ** 128n * BigInt(i + 1)) / BigInt(count) - 1n,
    }));
  const shardOf = (key: bigint, ranges: { start: bigint; end: bigint }[]) =>
    ranges.findIndex((range) => range.start <= key && key <= range.end);

  it("puts bus shards 0 … n−1 in n different Kinesis shards for every power of two n, and never on a boundary", () => {
    for (const n of [1, 2, 4, 8, 16, 64, 256]) {
      const ranges = evenSplit(n);
      const used = new Set(Array.from({ length: n }, (_, s) => shardOf(hashKeyOf(s), ranges)));
      expect(used.size, `${n} shards`).toBe(n);
    }
    const keys = new Set<string>(); // strings: V8 hashes bigints by their low digits, all equal here
    const offCentre: number[] = [];
    for (let s = 0; s <= 65_534; s++) {
      const key = hashKeyOf(s);
      if (key % 2n ** 112n !== 2n ** 111n) offCentre.push(s); // each key sits in the middle of its slot
      keys.add(key.toString(16));
    }
    expect(offCentre).toEqual([]);
    expect(keys.size).toBe(65_535);
  });
});

describe("dedup decisions", () => {
  it("delivers a call's records in order, drops copies, and drops orphans until their call's resend", () => {
    const state = new DedupState(60_000);
    const p = "aaaaaaaaaaaaaaaa";
    const verdicts = [
      state.decide(p, 0, 1, 0, 0),
      state.decide(p, 1, 1, 1, 0),
      state.decide(p, 3, 1, 3, 0), // index 2 (sequence 2) failed: orphan
      state.decide(p, 4, 1, 4, 0), // still an orphan
      state.decide(p, 2, 2, 0, 1), // the resend from the failed record
      state.decide(p, 3, 2, 1, 1),
      state.decide(p, 4, 2, 2, 1),
      state.decide(p, 0, 3, 0, 2), // a lost reply's retry of the whole batch
      state.decide(p, 1, 3, 1, 2),
      state.decide(p, 5, 3, 5, 2), // after a gap in its call: an orphan even though 5 is new
    ];
    expect(verdicts).toEqual([
      "deliver",
      "deliver",
      "orphan",
      "orphan",
      "deliver",
      "deliver",
      "deliver",
      "duplicate",
      "duplicate",
      "orphan",
    ]);
  });

  it("interleaved copies of one call (an SDK retry racing its original) still deliver each sequence once", () => {
    const state = new DedupState(60_000);
    const p = "bbbbbbbbbbbbbbbb";
    const delivered: number[] = [];
    // Original 0,1,2,3 and its copy interleaved as 0 1 0' 2 1' 2' 3 3'.
    for (const [sequence, index] of [
      [0, 0],
      [1, 1],
      [0, 0],
      [2, 2],
      [1, 1],
      [2, 2],
      [3, 3],
      [3, 3],
    ] as const) {
      if (state.decide(p, sequence, 7, index, 0) === "deliver") delivered.push(sequence);
    }
    expect(delivered).toEqual([0, 1, 2, 3]);
  });

  it("keeps producers apart and forgets one after the window", () => {
    const state = new DedupState(1_000);
    expect(state.decide("aaaaaaaaaaaaaaaa", 5, 1, 0, 0)).toBe("deliver");
    expect(state.decide("bbbbbbbbbbbbbbbb", 5, 1, 0, 0)).toBe("deliver");
    expect(state.decide("aaaaaaaaaaaaaaaa", 5, 2, 0, 999)).toBe("duplicate");
    expect(state.decide("aaaaaaaaaaaaaaaa", 5, 3, 0, 2_100)).toBe("deliver"); // state expired: read again
  });
});

describe("lineage", () => {
  const shard = (
    id: string,
    start: string,
    end: string | undefined,
    keys: [bigint, bigint],
    parents: string[] = [],
  ): Shard => ({
    ShardId: id,
    HashKeyRange: { StartingHashKey: keys[0].toString(), EndingHashKey: keys[1].toString() },
    SequenceNumberRange: {
      StartingSequenceNumber: start,
      ...(end !== undefined && { EndingSequenceNumber: end }),
    },
    ...(parents[0] !== undefined && { ParentShardId: parents[0] }),
    ...(parents[1] !== undefined && { AdjacentParentShardId: parents[1] }),
  });
  const max = 2n ** 128n - 1n;
  const half = 2n ** 127n;

  it("orders a split and a merge from ancestor to open shard, following the key", () => {
    const shards = [
      shard("s0", "100", "199", [0n, max]),
      shard("s1", "200", "299", [0n, half - 1n], ["s0"]),
      shard("s2", "210", "399", [half, max], ["s0"]),
      shard("s3", "400", undefined, [0n, max], ["s1", "s2"]),
    ];
    expect(chainOf(shards, 5n).map((link) => link.shardId)).toEqual(["s0", "s1", "s3"]);
    expect(chainOf(shards, half + 5n).map((link) => link.shardId)).toEqual(["s0", "s2", "s3"]);
    expect(chainOf(shards, 5n).at(-1)!.end).toBeUndefined();
    expect(chainOf(shards.slice(1), 5n).map((link) => link.shardId)).toEqual(["s1", "s3"]); // s0 trimmed
  });
});

describe("classification and redaction", () => {
  it("classifies by code and status, never by chance words", () => {
    expect(classifyKind({ name: "ProvisionedThroughputExceededException" })).toBe("backpressure");
    expect(classifyKind({ name: "InternalFailure" })).toBe("transient");
    expect(classifyKind({ name: "ResourceNotFoundException" })).toBe("fatal");
    expect(classifyKind({ name: "SomethingNew", $fault: "client", $metadata: { httpStatusCode: 400 } })).toBe(
      "fatal",
    );
    expect(classifyKind({ name: "SomethingNew", $fault: "server", $metadata: { httpStatusCode: 502 } })).toBe(
      "transient",
    );
    expect(classifyKind(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(
      "connection",
    );
    expect(
      // @smithy/node-http-handler's connect timeout and request timeout, as it raises them.
      classifyKind(
        Object.assign(
          new Error(
            "@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 3000 ms.",
          ),
          { name: "TimeoutError" },
        ),
      ),
    ).toBe("connection");
    expect(
      classifyKind(
        Object.assign(
          new Error(
            "@smithy/node-http-handler - [ERROR] a request has exceeded the configured 5000 ms requestTimeout.",
          ),
          { name: "TimeoutError", code: "ETIMEDOUT" },
        ),
      ),
    ).toBe("transient");
    // The handler renames a reset socket ("socket hang up") TimeoutError; its code tells it.
    expect(
      classifyKind(Object.assign(new Error("socket hang up"), { name: "TimeoutError", code: "ECONNRESET" })),
    ).toBe("connection");
    expect(classifyKind(new Error("ResourceNotFoundException mentioned in passing"))).toBe("transient");
  });

  it("scrubs known secrets, signature shapes and URL user-info", () => {
    const redactor = new Redactor();
    redactor.learn({ accessKeyId: "AKIDEXAMPLE", secretAccessKey: "top/secret+key", sessionToken: "tok" });
    const text = redactor.text(
      "Credential=AKIDEXAMPLE/20250101/us-east-1/kinesis/aws4_request, Signature=0123456789abcdef0123456789abcdef " +
        "x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLE top/secret+key http://u:p@host:1/ AKIAIOSFODNN7EXAMPLE",
    );
    for (const secret of [
      "AKIDEXAMPLE",
      "0123456789abcdef",
      "IQoJb3JpZ2luX2VjEXAMPLE",
      "top/secret+key",
      "u:p@",
      "AKIAIOSFODNN7EXAMPLE",
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe("options", () => {
  it("applies defaults and refuses bad values with TypeError or RangeError naming the option", () => {
    const settings = resolveSettings({ streamName: "s", endpoint: "http://u:pw@127.0.0.1:1" });
    expect(settings).toMatchObject({
      shardCount: 4,
      dedupWindowMs: 60_000,
      maxSockets: 16,
      endpoint: "http://[REDACTED]@127.0.0.1:1",
    });
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ streamName: "has space" }, /streamName/],
      [{ streamName: "s", shardCount: 0 }, /shardCount/],
      [{ streamName: "s", maxRecordSizeKiB: 512 }, /maxRecordSizeKiB/],
      [{ streamName: "s", endpoint: "ftp://x" }, /endpoint/],
      [{ streamName: "s", dedupWindowMs: 1.5 }, /dedupWindowMs/],
      [{ streamName: "s", createStream: "yes" }, /createStream/],
      [{ streamName: "s", credentials: { accessKeyId: "x" } }, /credentials/],
    ];
    for (const [options, message] of bad) {
      expect(() => new KinesisAdapter(options as never), JSON.stringify(options)).toThrow(message);
    }
  });

  it("refuses malformed credentials and clientConfig with a TypeError naming the option", () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ credentials: null }, /credentials/],
      [{ credentials: "AKID:secret" }, /credentials/],
      [{ credentials: { accessKeyId: "", secretAccessKey: "s" } }, /credentials/],
      [{ credentials: { accessKeyId: "a", secretAccessKey: "" } }, /credentials/],
      [{ credentials: { accessKeyId: "a", secretAccessKey: "s", sessionToken: 42 } }, /credentials/],
      [{ clientConfig: "fast" }, /clientConfig/],
      [{ clientConfig: null }, /clientConfig/],
      [{ clientConfig: [] }, /clientConfig/],
      // What the adapter sets itself cannot come in through clientConfig (settings would not show it).
      [{ clientConfig: { region: "eu-west-1" } }, /clientConfig\.region/],
      [{ clientConfig: { endpoint: "http://127.0.0.1:1" } }, /clientConfig\.endpoint/],
      [
        { clientConfig: { credentials: { accessKeyId: "a", secretAccessKey: "s" } } },
        /clientConfig\.credentials/,
      ],
      [{ clientConfig: { maxAttempts: 9 } }, /clientConfig\.maxAttempts/],
      [{ clientConfig: { requestHandler: {} } }, /clientConfig\.requestHandler/],
    ];
    for (const [options, message] of bad) {
      const create = () => new KinesisAdapter({ streamName: "s", ...options } as never);
      expect(create, JSON.stringify(options)).toThrow(TypeError);
      expect(create, JSON.stringify(options)).toThrow(message);
    }
    expect(
      () =>
        new KinesisAdapter({
          streamName: "s",
          credentials: { accessKeyId: "a", secretAccessKey: "s", sessionToken: "t" },
          clientConfig: { customUserAgent: "netmesh-test", region: undefined } as never,
        }),
    ).not.toThrow();
  });

  it("accepts frozen static credentials (the SDK writes into the object it is given: the adapter copies it)", () => {
    const credentials = Object.freeze({ accessKeyId: "AKIDFROZEN", secretAccessKey: "frozen" });
    expect(() => new KinesisAdapter({ streamName: "s", credentials })).not.toThrow();
  });
});
