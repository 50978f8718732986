import { type Msg, type MsgHdrs, type MsgHdrsImpl, type NatsConnection, headers } from "@nats-io/nats-core";

/** Which replica answers a direct get: the leader, a follower that lags it, or one that never answers. */
export type Replica = "leader" | "lagging" | "silent";

/** One stored message of the fake stream. */
interface Stored {
  readonly seq: number;
  readonly messageId: string;
  readonly json: string;
}

const encoder = new TextEncoder();

/** A small deterministic PRNG (mulberry32), so a "random" replica choice repeats run after run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A replicated stream of one shard, behind the few connection methods a read uses (`publish`,
 * `subscribe`, `isClosed`): direct gets are answered by the replica `route` picks (the leader with every
 * message, a follower that has applied only the first `applied` of them, or one that never answers),
 * `STREAM.MSG.GET` by the leader, and a consumer cannot be created (reads use windows only). Replies
 * arrive asynchronously, one macrotask later, as from a socket.
 */
export class FakeReplicatedStream {
  readonly messages: Stored[] = [];
  /** How many messages the lagging follower has applied. */
  applied = 0;
  /** Requests seen, by API: `direct`, `leader`, `other`. */
  readonly requests = { direct: 0, leader: 0, other: 0 };
  /** Picks the replica that answers a direct get (default: the leader). */
  route: () => Replica = () => "leader";
  /** While true, nobody answers anything (a stream being created, a leader election). */
  silentAll = false;
  private callback: ((error: Error | null, msg: Msg) => void) | undefined;

  constructor(
    readonly stream: string,
    readonly subject: string,
    readonly shard: number,
  ) {}

  /** Appends `count` events to the leader (the lagging follower does not apply them). */
  append(count: number): void {
    for (let i = 0; i < count; i++) {
      const seq = this.messages.length + 1;
      this.messages.push({
        seq,
        messageId: `00000000000000aa:${this.shard}:${seq - 1}`,
        json: JSON.stringify({ seq }),
      });
    }
  }

  /** The connection the read uses. */
  get connection(): NatsConnection {
    return this as unknown as NatsConnection;
  }

  isClosed(): boolean {
    return false;
  }

  subscribe(_subject: string, options: { callback: (error: Error | null, msg: Msg) => void }) {
    this.callback = options.callback;
    return { unsubscribe: () => {}, isClosed: () => false };
  }

  publish(subject: string, data: Uint8Array | string, options: { reply?: string } = {}): void {
    const body = typeof data === "string" ? data : new TextDecoder().decode(data);
    const reply = options.reply;
    if (reply === undefined) return;
    setImmediate(() => this.answer(subject, body, reply));
  }

  private answer(subject: string, body: string, reply: string): void {
    if (this.silentAll) return;
    if (subject === `$JS.API.DIRECT.GET.${this.stream}`) {
      this.requests.direct++;
      const replica = this.route();
      if (replica === "silent") return;
      const from = Number(JSON.parse(body).seq);
      const upTo = replica === "leader" ? this.messages.length : this.applied;
      const found = this.messages.find((m) => m.seq >= from && m.seq <= upTo);
      if (found === undefined) this.deliver(reply, headers(404, "Message Not Found"), new Uint8Array(0));
      else this.deliver(reply, this.directHeaders(found), encoder.encode(found.json));
      return;
    }
    if (subject === `$JS.API.STREAM.MSG.GET.${this.stream}`) {
      this.requests.leader++;
      const from = Number(JSON.parse(body).seq);
      const found = this.messages.find((m) => m.seq >= from);
      const text =
        found === undefined
          ? '{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","error":{"code":404,"err_code":10037,"description":"no message found"}}'
          : JSON.stringify({
              type: "io.nats.jetstream.api.v1.stream_msg_get_response",
              message: {
                subject: this.subject,
                seq: found.seq,
                hdrs: Buffer.from((this.storedHeaders(found) as MsgHdrsImpl).encode()).toString("base64"),
                data: Buffer.from(found.json).toString("base64"),
                time: new Date(0).toISOString(),
              },
            });
      this.deliver(reply, undefined, encoder.encode(text));
      return;
    }
    this.requests.other++;
    // Anything else (creating a consumer): refused, so reads keep to windows.
    const refusal = '{"error":{"code":500,"err_code":10999,"description":"not in this fake"}}';
    this.deliver(reply, undefined, encoder.encode(refusal));
  }

  private storedHeaders(stored: Stored): MsgHdrs {
    const h = headers();
    h.set("Nats-Msg-Id", stored.messageId);
    h.set("Netmesh-Ts", String(1_000_000 + stored.seq));
    return h;
  }

  private directHeaders(stored: Stored): MsgHdrs {
    const h = this.storedHeaders(stored);
    h.set("Nats-Stream", this.stream);
    h.set("Nats-Subject", this.subject);
    h.set("Nats-Sequence", String(stored.seq));
    return h;
  }

  private deliver(subject: string, hdrs: MsgHdrs | undefined, data: Uint8Array): void {
    const msg = { subject, reply: undefined, headers: hdrs, data } as unknown as Msg;
    this.callback?.(null, msg);
  }
}
