import {
  BackendBackpressureError,
  ConnectionError,
  FatalError,
  TransientError,
  isAdapterError,
} from "@netmesh/core/adapter";
import { ReplyError } from "ioredis";
import { describe, expect, it } from "vitest";
import { classify, classifyKind, replyCode } from "../src/classify.js";
import { Redactor } from "../src/redaction.js";

/** An error reply exactly as ioredis hands it over (its own ReplyError class). */
function reply(message: string): Error {
  const error: Error = new ReplyError(message);
  return error;
}

/** A socket error as Node raises it. */
function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:6390`), { code, syscall: "connect" });
}

const none = new Redactor([]);

describe("error classification", () => {
  it.each([
    ["MOVED 3999 127.0.0.1:6381"],
    ["ASK 3999 127.0.0.1:6381"],
    ["TRYAGAIN Multiple keys request during rehashing of slot"],
    ["CLUSTERDOWN Hash slot not served"],
    ["CLUSTERDOWN The cluster is down"],
    ["LOADING Redis is loading the dataset in memory"],
    ["BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."],
    ["MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."],
    ["READONLY You can't write against a read only replica."],
    ["NOREPLICAS Not enough good replicas to write."],
    [
      "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
    ],
    ["NETMESH_GAP the previous chunk of this batch is not stored"],
  ])("%s → transient (retryable)", (message) => {
    const error = classify(reply(message), "append", none);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.isRetryable).toBe(true);
    expect(error.message).toBe(`redis append: ${message}`);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("OOM → backpressure (retryable with back-off)", () => {
    const error = classify(reply("OOM command not allowed when used memory > 'maxmemory'."), "append", none);
    expect(error).toBeInstanceOf(BackendBackpressureError);
    expect(error.isRetryable).toBe(true);
  });

  it.each([
    ["NOAUTH Authentication required."],
    ["WRONGPASS invalid username-password pair or user is disabled."],
    ["NOPERM User limited has no permissions to run the 'evalsha' command"],
    ["CROSSSLOT Keys in request don't hash to the same slot"],
    ["WRONGTYPE Operation against a key holding the wrong kind of value"],
    ["NOSCRIPT No matching script. Please use EVAL."],
    ["EXECABORT Transaction discarded because of previous errors."],
    ["ERR user_script:3: Script attempted to access nonexistent global variable 'x' script: abc"],
    ["ERR Error compiling script (new function): user_script:1: unexpected symbol"],
    ["ERR Invalid stream ID specified as stream command argument"],
    ["BUSYGROUP Consumer Group name already exists"],
    ["BUSYKEY Target key name already exists."],
    ["something without a code"],
  ])("%s → fatal (not retryable)", (message) => {
    const error = classify(reply(message), "append", none);
    expect(error).toBeInstanceOf(FatalError);
    expect(error.isRetryable).toBe(false);
  });

  it("reads the code from the first word only: BUSY inside a message is not BUSY", () => {
    expect(replyCode(reply("ERR something BUSY happened"))).toBe("ERR");
    expect(classifyKind(reply("ERR the server is LOADING or BUSY"))).toBe("fatal");
    expect(replyCode(new Error("MOVED 1 h:1"))).toBeUndefined(); // not a reply: no code
  });

  it.each([
    "ECONNREFUSED",
    "ECONNRESET",
    "EPIPE",
    "ETIMEDOUT",
    "EHOSTUNREACH",
    "ENETUNREACH",
    "ENOTFOUND",
    "EAI_AGAIN",
  ])("socket error %s → connection (retryable)", (code) => {
    const error = classify(socketError(code), "connect", none);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.isRetryable).toBe(true);
  });

  it.each([
    ["Connection is closed.", "Error"],
    ["Stream isn't writeable and enableOfflineQueue options is false", "Error"],
    ["Command aborted due to connection close", "AbortError"],
    [
      'Reached the max retries per request limit (which is 20). Refer to "maxRetriesPerRequest" option for details.',
      "MaxRetriesPerRequestError",
    ],
    ["Failed to refresh slots cache.", "ClusterAllFailedError"],
    ["None of startup nodes is available", "Error"],
    ["Cluster is disconnected.", "Error"],
    ["connect ETIMEDOUT", "Error"],
  ])("ioredis connection state %s → connection (retryable)", (message, name) => {
    const error = Object.assign(new Error(message), {});
    Object.defineProperty(error, "name", { value: name });
    expect(classifyKind(error)).toBe("connection");
  });

  it("TLS certificate failures are fatal; unknown non-reply errors are transient, like the bus's default", () => {
    expect(classifyKind(socketError("DEPTH_ZERO_SELF_SIGNED_CERT"))).toBe("fatal");
    expect(classifyKind(socketError("ERR_TLS_CERT_ALTNAME_INVALID"))).toBe("fatal");
    expect(classifyKind(new TypeError("x is not a function"))).toBe("transient");
    expect(classifyKind("a string")).toBe("transient");
  });

  it("passes adapter errors through unchanged", () => {
    const original = new FatalError("already classified");
    expect(classify(original, "append", none)).toBe(original);
    expect(isAdapterError(classify(reply("ERR x"), "append", none))).toBe(true);
  });

  it("scrubs credentials from the message and from the kept cause", () => {
    const redactor = Redactor.forConnection("redis://app:hunter2-secret@10.0.0.1:6379/0", undefined);
    const raw = reply("ERR could not reach redis://app:hunter2-secret@10.0.0.1:6379/0 with hunter2-secret");
    const error = classify(raw, "connect", redactor);
    expect(error.message).toBe(
      "redis connect: ERR could not reach redis://[REDACTED]@10.0.0.1:6379/0 with [REDACTED]",
    );
    expect(error.message).not.toContain("hunter2");
    expect((error.cause as Error).message).not.toContain("hunter2");
    expect((error.cause as Error).name).toBe("ReplyError");
    // Even with nothing to scrub in the text, the cause is a copy: the original carries the command.
    const clean = Object.assign(reply("WRONGPASS invalid username-password pair"), {
      command: { name: "auth", args: ["default", "hunter2-secret"] },
    });
    const cause = classify(clean, "connect", redactor).cause as Error & { command?: unknown };
    expect(cause).not.toBe(clean);
    expect(cause.message).toBe(clean.message);
    expect(cause.stack).toContain("WRONGPASS");
    expect(cause.command).toBeUndefined();
  });
});

describe("Redactor", () => {
  it("hides URL user-info, raw and percent-decoded passwords, and options passwords", () => {
    const redactor = Redactor.forConnection("rediss://user:p%40ss%3Aword@h:1", { password: "opt-secret" });
    expect(redactor.text("rediss://user:p%40ss%3Aword@h:1 p@ss:word opt-secret")).toBe(
      "rediss://[REDACTED]@h:1 [REDACTED] [REDACTED]",
    );
    // Any URL in a text loses its user-info, even one the redactor was not told about.
    expect(new Redactor([]).text("see redis://a:b@x:1/2 and nats://c:d@y")).toBe(
      "see redis://[REDACTED]@x:1/2 and nats://[REDACTED]@y",
    );
    // A password-only URL (redis://:secret@host) is covered too.
    expect(Redactor.forConnection("redis://:only-pass@h:1", undefined).text("only-pass")).toBe("[REDACTED]");
  });

  it("takes a password holding an unencoded @ whole: the user-info ends at the last @ before the host", () => {
    const redactor = Redactor.forConnection("redis://user:p@ss@wo@rd@h:1/0?x=a@b", undefined);
    expect(redactor.text("AUTH user p@ss@wo@rd refused")).toBe("AUTH user [REDACTED] refused");
    expect(Redactor.forConnection("redis://p@ss-only@h:1", undefined).text("p@ss-only")).toBe("[REDACTED]");
  });
});
