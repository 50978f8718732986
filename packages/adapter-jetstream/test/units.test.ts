import { describe, expect, it } from "vitest";
import { scrub } from "../src/classify.js";
import { parseServers } from "../src/connection.js";
import { TestProducer } from "@netmesh/adapter-testkit";
import { MAX_SHARD_ID, formatMessageId } from "@netmesh/core/adapter";
import { parseDelivery } from "../src/follow.js";
import { MAX_HEADER_BYTES, headerBlock } from "../src/headers.js";
import { shardOfStream } from "../src/naming.js";
import { prepareBatch } from "../src/payloads.js";
import { parsePubAck } from "../src/pub-ack.js";

describe("parsePubAck", () => {
  it("reads stored and duplicate acks as servers write them, with or without spaces", () => {
    expect(parsePubAck('{"stream":"s_shard_0", "seq":5}')).toEqual({ ok: true, duplicate: false });
    expect(parsePubAck('{"stream":"s_shard_0", "seq":5,"duplicate": true}')).toEqual({
      ok: true,
      duplicate: true,
    });
    expect(parsePubAck('{"stream":"s","seq":18446744073709551615,"duplicate":true}')).toEqual({
      ok: true,
      duplicate: true,
    });
    expect(parsePubAck('{"seq":1,"stream":"s"}')).toEqual({ ok: true, duplicate: false });
  });

  it("reads refusals and rejects what is not a PubAck", () => {
    expect(
      parsePubAck('{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 0"}}'),
    ).toEqual({ ok: false, error: { code: 400, err_code: 10071, description: "wrong last sequence: 0" } });
    expect(parsePubAck("")).toBeUndefined();
    expect(parsePubAck("not json")).toBeUndefined();
    expect(parsePubAck('{"type":"io.nats.jetstream.api.v1.other"}')).toBeUndefined();
    expect(parsePubAck("[]")).toBeUndefined();
  });
});

describe("parseServers", () => {
  it("moves user-info out of the server URLs into credentials", () => {
    expect(parseServers("nats://127.0.0.1:4222")).toEqual({ servers: ["nats://127.0.0.1:4222"] });
    expect(parseServers("nats://al%40ice:p%3Ass@h1:4222, nats://al%40ice:p%3Ass@h2:4222")).toEqual({
      servers: ["nats://h1:4222", "nats://h2:4222"],
      user: "al@ice",
      pass: "p:ss",
    });
    expect(parseServers("nats://tok3n@h1:4222,nats://h2")).toEqual({
      servers: ["nats://h1:4222", "nats://h2"],
      token: "tok3n",
    });
  });

  it("refuses servers with different credentials without showing them", () => {
    expect(() => parseServers("nats://a:pw-alpha@h1,nats://b:pw-beta@h2")).toThrow(/different credentials/);
    try {
      parseServers("nats://a:pw-alpha@h1,nats://b:pw-beta@h2");
    } catch (error) {
      expect((error as Error).message).not.toMatch(/pw-alpha|pw-beta/);
    }
  });
});

describe("scrub", () => {
  it("redacts the credentials of every URL inside a text", () => {
    expect(scrub("failed nats://u:p@h:1 and tls://x:y@h2/z, then")).toBe(
      "failed nats://[REDACTED]@h:1 and tls://[REDACTED]@h2/z, then",
    );
  });
});

describe("prepareBatch", () => {
  it("publishes every event of a clean batch as views of the batch's bytes, with no order array", () => {
    const texts = Array.from({ length: 2_000 }, (_, i) => JSON.stringify({ i, s: "é€😀".repeat(i % 50) }));
    const batch = new TestProducer().batch(0, texts);
    const prepared = prepareBatch(batch, 1_000_000);
    expect(prepared).toMatchObject({ order: undefined, count: texts.length, rejected: [] });
    const { data, offsets } = prepared.bytes;
    for (const [i, text] of texts.entries()) {
      expect(Buffer.compare(data.subarray(offsets[i]!, offsets[i + 1]!), Buffer.from(text, "utf8"))).toBe(0);
    }
  });

  it("refuses too large events and lone surrogates alone, by index, and keeps the rest in order", () => {
    const events = [
      '"a"',
      `"${"x".repeat(98)}"`, // 100 bytes: exactly the limit
      '"\ud800"', // a lone high surrogate
      '"b"',
      '"\udc00é"', // a lone low surrogate among other non-ASCII text
      '"😀"', // a well-formed pair
      `"${"é".repeat(50)}"`, // 102 bytes in 52 code units
    ];
    const prepared = prepareBatch(new TestProducer().batch(3, events), 100);
    expect(prepared.rejected.map(({ index, reason }) => [index, reason])).toEqual([
      [2, "invalidText"],
      [4, "invalidText"],
      [6, "tooLarge"],
    ]);
    expect(prepared.order).toEqual([0, 1, 3, 5]);
    expect(prepared.count).toBe(4);
  });
});

describe("header room", () => {
  it("is the header block of the longest message id and timestamp the contract allows", () => {
    const longestId = formatMessageId("ffffffffffffffff", MAX_SHARD_ID, Number.MAX_SAFE_INTEGER);
    expect(headerBlock(longestId, -Number.MAX_SAFE_INTEGER)).toHaveLength(MAX_HEADER_BYTES);
    expect(MAX_HEADER_BYTES).toBe(97);
  });
});

describe("parseDelivery", () => {
  it("reads the stream sequence exactly, the delivery sequence and the pending count, in both subject forms", () => {
    expect(parseDelivery("$JS.ACK.s_shard_1.c1.1.9007199254740993.7.1795985791499413975.12")).toEqual({
      consumer: "c1",
      streamSequence: "9007199254740993",
      consumerSequence: 7,
      pending: 12,
    });
    expect(parseDelivery("$JS.ACK.dom.hash.s_shard_1.c1.1.5.2.1795985791499413975.0.tok")).toMatchObject({
      consumer: "c1",
      streamSequence: "5",
      consumerSequence: 2,
    });
    for (const bad of [undefined, "", "_INBOX.x.1", "$JS.ACK.s.c.1.x.1.1.0", "$JS.ACK.s.c.1.01.1.1.0"]) {
      expect(parseDelivery(bad), String(bad)).toBeUndefined();
    }
  });
});

describe("shardOfStream", () => {
  it("parses only this prefix's shard streams with valid ids", () => {
    expect(shardOfStream("p", "p_shard_0")).toBe(0);
    expect(shardOfStream("p", "p_shard_65534")).toBe(65_534);
    for (const name of [
      "p_shard_65535",
      "p_shard_01",
      "p_shard_",
      "p_shard_1x",
      "q_shard_1",
      "pp_shard_1",
      "p_shard_1_shard_2",
    ]) {
      expect(shardOfStream("p", name), name).toBeUndefined();
    }
  });
});
