import { inspect } from "node:util";
import type { Msg } from "@nats-io/nats-core";
import { MsgImpl } from "@nats-io/nats-core/internal";
import { describe, expect, it } from "vitest";
import { scrub } from "../src/classify.js";
import { parseServers, secretsOf } from "../src/connection.js";
import { isJsonBytes, isJsonText } from "../src/json-check.js";
import { headersOf, transientHeadersOf } from "../src/raw-headers.js";
import { shardOfMessageId } from "../src/record.js";
import { Redactor } from "../src/redaction.js";
import { TestProducer } from "@netmesh/adapter-testkit";
import { FatalError, MAX_SHARD_ID, formatMessageId } from "@netmesh/core/adapter";
import { parseDelivery } from "../src/follow.js";
import { MAX_HEADER_BYTES, headerBlock } from "../src/headers.js";
import { shardOfStream } from "../src/naming.js";
import { narrowBatch, prepareBatch } from "../src/payloads.js";
import { parsePubAck } from "../src/pub-ack.js";
import { deliveredSequenceIn, lastSequenceIn } from "../src/stream-reset.js";

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

  it("narrowed for a smaller limit, refuses only the events not published yet that no longer fit", () => {
    const events = [
      '"a"',
      `"${"x".repeat(48)}"`,
      '"\ud800"',
      `"${"y".repeat(48)}"`,
      '"b"',
      `"${"z".repeat(48)}"`,
    ];
    const prepared = prepareBatch(new TestProducer().batch(0, events), 100);
    expect(prepared.order).toEqual([0, 1, 3, 4, 5]);
    // Positions 0 and 1 (events 0 and 1) went out before the limit shrank to 10: event 1 stays.
    const narrowed = narrowBatch(prepared, 2, 10);
    expect(narrowed.rejected.map(({ index, reason }) => [index, reason])).toEqual([
      [2, "invalidText"],
      [3, "tooLarge"],
      [5, "tooLarge"],
    ]);
    expect(narrowed).toMatchObject({ order: [0, 1, 4], count: 3, limit: 10 });
    expect(narrowed.rejected[1]!.message).toMatch(/at most 10$/);
    // Nothing more to refuse: the same events, the new limit.
    expect(narrowBatch(narrowed, 3, 5)).toMatchObject({ order: [0, 1, 4], count: 3, limit: 5 });
  });
});

describe("stream reset parsers", () => {
  it("read last_seq and a new consumer's delivered stream sequence exactly, beyond 2^53 too", () => {
    const info =
      '{"config":{"name":"s"},"state":{"messages":2,"first_seq":9007199254740993,"last_seq":9007199254740995}}';
    expect(lastSequenceIn(info)).toBe(9007199254740995n);
    expect(lastSequenceIn('{"error":{"code":404}}')).toBeUndefined();
    const consumer =
      '{"name":"c","delivered":{"consumer_seq":0,"stream_seq":9223372036854775801},"ack_floor":{"consumer_seq":0,"stream_seq":0}}';
    expect(deliveredSequenceIn(consumer)).toBe(9223372036854775801n);
    expect(deliveredSequenceIn('{"name":"c"}')).toBeUndefined();
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

describe("isJsonText", () => {
  it("accepts exactly what JSON.parse accepts", () => {
    for (const text of ["{}", "[]", '{"a":[1,2,{"b":null}]}', '"x"', "0", " true "]) {
      expect(isJsonText(text), text).toBe(true);
    }
    for (const text of ["", "not json", "{", '{"a":}', "[1,]", "\u0000"]) {
      expect(isJsonText(text), JSON.stringify(text)).toBe(false);
    }
  });
});

describe("isJsonBytes", () => {
  const parses = (text: string) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  };
  /** The check on `text`'s UTF-8 bytes, placed inside a larger buffer as a message's payload is. */
  const check = (text: string) => {
    const bytes = Buffer.concat([
      Buffer.from("NATS/1.0\r\n\r\n"),
      Buffer.from(text, "utf8"),
      Buffer.from("]"),
    ]);
    return isJsonBytes(bytes, 12, bytes.length - 1);
  };
  const corpus = [
    "{}",
    "[]",
    " \t\r\n{ } ",
    '{"a":[1,2,{"b":null}],"c":"\u201cq\u201d","d":-0.5e+10}',
    '"\\u00e9\\n\\/\\"\\\\"',
    "0",
    "-0",
    "1.5E-3",
    "true",
    "false",
    "null",
    '["\u{1F600}", "\u2028"]',
    JSON.stringify({ deep: [[[[[[[[[[[[[[[[{ x: [1, "y"] }]]]]]]]]]]]]]]]] }),
    `${"[".repeat(100)}${"]".repeat(100)}`,
    "",
    " ",
    "{",
    "}",
    "[1,]",
    '{"a":}',
    '{"a" 1}',
    "{a:1}",
    "{,}",
    "[,1]",
    "01",
    "1.",
    ".5",
    "-",
    "1e",
    "1e+",
    "+1",
    "0x10",
    "NaN",
    "Infinity",
    "tru",
    "nulls",
    "truefalse",
    '"abc',
    '"\\x"',
    '"\\u12g4"',
    '"\\u123"',
    '"a\tb"',
    '"a\u0000"',
    "\ufeff{}",
    "{}\u00a0",
    "[1] [2]",
    '{"a":1}}',
    "[[]",
    `${"[".repeat(100)}${"]".repeat(99)}`,
  ];

  it("agrees with JSON.parse on valid and broken texts", () => {
    for (const text of corpus) expect(check(text), JSON.stringify(text)).toBe(parses(text));
  });

  it("agrees with JSON.parse on seeded mutations of events", () => {
    let seed = 12;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const alphabet = ' {}[]",:\\/-+.0123456789eEtrufalsn\t\n\u00e9\u201cx';
    const base = [
      JSON.stringify({
        type: "token",
        seq: 3,
        delta: "a \u201cb\u201d\n",
        finish: null,
        usage: { p: 1.5e3, ok: true },
      }),
      JSON.stringify([1, -2.5, "s", [], {}, [null, false]]),
    ];
    let valid = 0;
    for (let n = 0; n < 20_000; n++) {
      const chars = [...base[n % base.length]!];
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
        const at = Math.floor(random() * (chars.length + 1));
        const c = alphabet[Math.floor(random() * alphabet.length)]!;
        const op = random();
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.7) chars.splice(at, 0, c);
        else chars.splice(at, 1, c);
      }
      const text = chars.join("");
      const expected = parses(text);
      if (expected) valid++;
      expect(check(text), JSON.stringify(text)).toBe(expected);
    }
    expect(valid).toBeGreaterThan(1_000); // the mutations keep many texts valid, so both answers are tried
  });
});

describe("headersOf", () => {
  const msgOf = (block: string, payload = "{}"): Msg => {
    const bytes = Buffer.concat([Buffer.from(block, "utf8"), Buffer.from(payload, "utf8")]);
    const arg = {
      subject: new Uint8Array(0),
      reply: new Uint8Array(0),
      sid: 1,
      hdr: Buffer.byteLength(block),
      size: bytes.length,
    };
    return new MsgImpl(arg as never, bytes, {} as never) as unknown as Msg;
  };

  it("reads a message's headers from its bytes exactly as the client's header map does", () => {
    const blocks = [
      "NATS/1.0\r\nNats-Msg-Id: 00000000000000aa:1:2\r\nNetmesh-Ts: 17\r\n\r\n",
      "NATS/1.0\r\nNetmesh-Ts:   42  \r\nNats-Msg-Id:x\r\nNats-Msg-Id: second\r\n\r\n",
      "NATS/1.0\r\nnats-msg-id: lower\r\nNats-Msg-Idx: other\r\n\r\n",
      "NATS/1.0 404 Message Not Found\r\n\r\n",
      "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 3\r\n\r\n",
      "NATS/1.0\r\nNats-Sequence: 9007199254740993\r\nNats-Msg-Id: é-ü\r\n\r\n",
      "NATS/1.0\r\n\r\n",
    ];
    for (const block of blocks) {
      const msg = msgOf(block, 'x"Nats-Msg-Id: in the payload"');
      // The reused view reads the same as a view of its own (another message read in between).
      for (const raw of [headersOf(msg)!, transientHeadersOf(msg)!]) {
        transientHeadersOf(msgOf(blocks[1]!))?.get("Nats-Msg-Id");
        const view = raw === headersOf(msg) ? raw : transientHeadersOf(msg)!;
        for (const name of [
          "Nats-Msg-Id",
          "Netmesh-Ts",
          "Nats-Sequence",
          "Nats-Pending-Messages",
          "Absent",
        ]) {
          expect(view.get(name), `${JSON.stringify(block)} ${name}`).toBe(msg.headers!.get(name));
        }
        expect(view.code).toBe(msg.headers!.code);
        // The one-pass read of the block the adapter writes agrees, and declines anything else.
        const written = { messageId: "", timestamp: "" };
        const wrote = view.written?.(written) === true;
        if (wrote) {
          expect(written).toEqual({
            messageId: msg.headers!.get("Nats-Msg-Id"),
            timestamp: msg.headers!.get("Netmesh-Ts"),
          });
        }
        expect(wrote, JSON.stringify(block)).toBe(block === blocks[0]);
      }
    }
    for (const near of [
      "NATS/1.0\r\nNats-Msg-Id: a b\r\nNetmesh-Ts: 1\r\n\r\n",
      "NATS/1.0\r\nNats-Msg-Id: a\r\nNetmesh-Ts: 1\r\nX: y\r\n\r\n",
      "NATS/1.0\r\nNats-Msg-Id: é\r\nNetmesh-Ts: 1\r\n\r\n",
      "NATS/1.0\r\nNats-Msg-Id: \r\nNetmesh-Ts: 1\r\n\r\n",
    ]) {
      expect(headersOf(msgOf(near))!.written?.({ messageId: "", timestamp: "" }), JSON.stringify(near)).toBe(
        false,
      );
    }
  });
});

describe("shardOfMessageId", () => {
  it("accepts exactly what /^[0-9a-f]{16}:(0|[1-9]\\d*):(0|[1-9]\\d*)$/ accepts, and reads the shard", () => {
    const pattern = /^[0-9a-f]{16}:(0|[1-9]\d*):(0|[1-9]\d*)$/;
    const ids = [
      "00000000000000ff:0:0",
      "0123456789abcdef:65534:9007199254740991",
      "0123456789abcdef:70000:1",
      "0123456789ABCDEF:1:1",
      "0123456789abcdef:01:1",
      "0123456789abcdef:1:01",
      "0123456789abcdef:1:",
      "0123456789abcdef::1",
      "0123456789abcde:1:1",
      "0123456789abcdef:1:1:1",
      "0123456789abcdef:-1:1",
      "0123456789abcdef:1:1 ",
      "",
    ];
    for (const id of ids) {
      const match = pattern.exec(id);
      expect(shardOfMessageId(id), id).toBe(match === null ? undefined : Number(match[1]));
    }
  });
});

describe("Redactor and secretsOf", () => {
  it("finds the secrets of URLs and connectOptions, raw and percent-decoded", () => {
    expect(
      secretsOf("nats://al%40ice:p%3Ass-w0rd@h1:4222,nats://tok3n-value@h2", {
        pass: "opt-pass",
        token: "opt-token",
      }),
    ).toEqual(
      expect.arrayContaining([
        "al%40ice:p%3Ass-w0rd",
        "p%3Ass-w0rd",
        "p:ss-w0rd",
        "tok3n-value",
        "opt-pass",
        "opt-token",
      ]),
    );
    expect(secretsOf("nats://h1:4222", {})).toEqual([]);
  });

  it("removes URL credentials and known secrets from messages, causes (copied, never shared) and log fields", () => {
    const redactor = new Redactor(["s3cret-pass", "ab"]);
    expect(redactor.text("bad nats://u:other@h and s3cret-pass, ab stays")).toBe(
      "bad nats://[REDACTED]@h and [REDACTED], ab stays",
    );
    const cause = Object.assign(new Error("auth failed for s3cret-pass"), {
      options: { pass: "s3cret-pass" },
    });
    const original = new FatalError("connect nats://u:s3cret-pass@h failed", { cause });
    const scrubbed = redactor.error(original) as FatalError;
    expect(scrubbed).toBeInstanceOf(FatalError);
    expect(scrubbed.kind).toBe("fatal");
    expect(scrubbed.notStored).toBe(original.notStored);
    expect(scrubbed.message).toBe("connect nats://[REDACTED]@h failed");
    expect(scrubbed.cause).not.toBe(cause);
    expect(inspect(scrubbed, { depth: 20, showHidden: true })).not.toContain("s3cret-pass");
    const lines: unknown[] = [];
    const logger = redactor.logger({
      debug: () => {},
      info: (fields, message) => lines.push([fields, message]),
      warn: () => {},
      error: () => {},
    });
    logger.info({ url: "nats://u:s3cret-pass@h", nested: [{ err: cause }] }, "using s3cret-pass");
    expect(inspect(lines, { depth: 20, showHidden: true })).not.toContain("s3cret-pass");
  });
});
