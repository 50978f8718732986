import { Agent, type IncomingMessage, type ServerResponse, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

/** One PutRecords entry as it travels (JSON 1.1: Data in base64). */
export interface WireRecord {
  readonly Data: string;
  readonly PartitionKey: string;
  readonly ExplicitHashKey?: string;
}

/** What the proxy does with one request. */
export type Action =
  /** Pass it on and pass the reply back. */
  | { readonly kind: "forward" }
  /**
   * PutRecords only: store all records but those at `failed`, and report those as failed with `code`
   * and `message`. `failedRecordCount` replaces the count in the reply (`null`: leave it out), and
   * `blank` reports each failed record as `{}` (neither an error code nor a sequence number): replies
   * that contradict themselves, which the writer must not read as "stored".
   */
  | {
      readonly kind: "fail-records";
      readonly failed: ReadonlySet<number>;
      readonly code?: string;
      readonly message?: string;
      readonly failedRecordCount?: number | null;
      readonly blank?: boolean;
    }
  /** Pass it on (Kinesis applies it), then cut the connection instead of replying. */
  | { readonly kind: "lose-reply" }
  /** Answer with an error of this type and status without passing it on. */
  | { readonly kind: "error"; readonly status: number; readonly type: string; readonly message: string }
  /** Never answer (the client's timeout or abort must end the call). */
  | { readonly kind: "hang" }
  /** Answer 200 with this JSON without passing it on. */
  | { readonly kind: "reply"; readonly body: Record<string, unknown> };

/** Chooses the action for a request: its operation (`"PutRecords"`, …), parsed JSON body and headers. */
export type Rule = (
  operation: string,
  body: Record<string, unknown>,
  headers: Readonly<Record<string, string | string[] | undefined>>,
) => Action | undefined;

/** An HTTP proxy in front of kinesalite that understands Kinesis calls and injects faults. */
export interface KinesisProxy {
  /** `http://127.0.0.1:<port>`: give it to the adapter as `endpoint`. */
  readonly endpoint: string;
  /** Rules tried in order for each request; the first that returns an action wins, else "forward". */
  readonly rules: Rule[];
  /** Operations seen, in order (`"PutRecords"`, `"GetRecords"`, …). */
  readonly operations: string[];
  close(): Promise<void>;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks)));
    stream.on("error", reject);
  });
}

/**
 * Starts the proxy on a free loopback port, forwarding to `upstream` (kinesalite). Each request is
 * buffered and parsed so a rule can act on PutRecords record by record: `fail-records` reproduces
 * Kinesis's partial failures exactly (the failed records are not stored, the others are, and the reply
 * says which), `lose-reply` a reply lost after the call was applied.
 */
export async function startKinesisProxy(upstream: string): Promise<KinesisProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const rules: Rule[] = [];
  const operations: string[] = [];

  const forward = (
    incoming: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; body: Buffer; type: string }> =>
    new Promise((resolve, reject) => {
      const headers = { ...incoming.headers, host: target.host, "content-length": String(body.length) };
      const outgoing = request(
        {
          host: target.hostname,
          port: target.port,
          path: incoming.url,
          method: incoming.method,
          headers,
          agent,
        },
        async (reply) => {
          try {
            const data = await readBody(reply);
            resolve({
              status: reply.statusCode ?? 500,
              body: data,
              type: String(reply.headers["content-type"] ?? ""),
            });
          } catch (error) {
            reject(error);
          }
        },
      );
      outgoing.on("error", reject);
      outgoing.end(body);
    });

  const handle = async (incoming: IncomingMessage, response: ServerResponse) => {
    const raw = await readBody(incoming);
    const operation = String(incoming.headers["x-amz-target"] ?? "").split(".")[1] ?? "?";
    operations.push(operation);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
    } catch {
      // Not JSON: forwarded untouched.
    }
    let action: Action = { kind: "forward" };
    for (const rule of rules) {
      const chosen = rule(operation, body, incoming.headers);
      if (chosen !== undefined) {
        action = chosen;
        break;
      }
    }
    const reply = (status: number, type: string, data: Buffer | string) => {
      response.writeHead(status, { "content-type": type || "application/x-amz-json-1.1" });
      response.end(data);
    };
    switch (action.kind) {
      case "hang":
        return;
      case "reply":
        reply(200, "application/x-amz-json-1.1", JSON.stringify(action.body));
        return;
      case "error":
        reply(
          action.status,
          "application/x-amz-json-1.1",
          JSON.stringify({ __type: action.type, message: action.message }),
        );
        return;
      case "lose-reply":
        await forward(incoming, raw);
        incoming.socket.destroy();
        return;
      case "forward": {
        const result = await forward(incoming, raw);
        reply(result.status, result.type, result.body);
        return;
      }
      case "fail-records": {
        const records = (body.Records ?? []) as WireRecord[];
        const kept = records.filter((_, i) => !action.failed.has(i));
        const code = action.code ?? "ProvisionedThroughputExceededException";
        let stored: { SequenceNumber: string; ShardId: string }[] = [];
        if (kept.length > 0) {
          const result = await forward(incoming, Buffer.from(JSON.stringify({ ...body, Records: kept })));
          if (result.status !== 200) {
            reply(result.status, result.type, result.body);
            return;
          }
          stored = (JSON.parse(result.body.toString("utf8")) as { Records: typeof stored }).Records;
        }
        let next = 0;
        const failure = action.blank
          ? {}
          : { ErrorCode: code, ErrorMessage: action.message ?? `injected ${code}` };
        const merged = records.map((_, i) => (action.failed.has(i) ? failure : stored[next++]));
        const count = action.failedRecordCount === undefined ? action.failed.size : action.failedRecordCount;
        reply(
          200,
          "application/x-amz-json-1.1",
          JSON.stringify({ ...(count !== null && { FailedRecordCount: count }), Records: merged }),
        );
        return;
      }
    }
  };

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch(() => incoming.socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    rules,
    operations,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A rule that applies `action` to the next `times` requests of `operation`, then stops. */
export function nextOf(
  operation: string,
  action: Action | ((body: Record<string, unknown>) => Action),
  times = 1,
): Rule {
  let left = times;
  return (op, body) => {
    if (op !== operation || left <= 0) return undefined;
    left--;
    return typeof action === "function" ? action(body) : action;
  };
}
