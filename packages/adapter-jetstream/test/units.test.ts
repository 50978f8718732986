import { describe, expect, it } from "vitest";
import { scrub } from "../src/classify.js";
import { parseServers } from "../src/connection.js";
import { PayloadEncoder } from "../src/payloads.js";
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

describe("PayloadEncoder", () => {
  it("encodes every text to its exact UTF-8 bytes across slab boundaries, small and large", () => {
    const encoder = new PayloadEncoder();
    const texts: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      texts.push(JSON.stringify({ i, s: "é€😀".repeat(i % 50), pad: "x".repeat((i * 37) % 300) }));
    }
    texts.push(JSON.stringify({ big: "€".repeat(200_000) }));
    const payloads = encoder.encodeAll(texts, 0, texts.length, 1_048_576);
    expect(payloads).toHaveLength(texts.length);
    for (const [i, text] of texts.entries()) {
      expect(Buffer.compare(payloads[i]!, Buffer.from(text, "utf8")), `text ${i}`).toBe(0);
    }
    // Each payload owns its bytes: a later encode never overwrites an earlier one.
    const again = encoder.encodeAll(texts, 0, 100, 1_048_576);
    for (let i = 0; i < 100; i++) expect(Buffer.compare(payloads[i]!, again[i]!)).toBe(0);
  });
});
