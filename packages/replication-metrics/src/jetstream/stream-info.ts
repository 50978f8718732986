import { BackendErrorReply } from "../errors.js";

/** A stream's peer as JetStream reports it in `cluster.replicas` (the leader is not among them). */
export interface PeerInfoLike {
  /** Server name. */
  readonly name: string;
  /** True when the peer is caught up with the leader. */
  readonly current: boolean;
  /** True when the group considers the peer offline (newer servers). */
  readonly offline?: boolean | undefined;
  /** Nanoseconds since the leader last heard from the peer. */
  readonly active: number;
  /** Raft operations the peer is behind the leader. */
  readonly lag?: number | undefined;
}

/** The fields of a JetStream stream info the probe reads; nats.js's `StreamInfo` fits. */
export interface StreamInfoLike {
  readonly config?: { readonly num_replicas?: number | undefined } | undefined;
  readonly state?: { readonly last_seq?: number | undefined } | undefined;
  readonly cluster?:
    | {
        readonly leader?: string | undefined;
        /** When the leader was elected (ISO time; nats-server 2.10 and later). */
        readonly leader_since?: string | undefined;
        readonly replicas?: readonly PeerInfoLike[] | undefined;
      }
    | undefined;
}

/** A nats.js `NatsConnection`, as far as the probe uses it (a plain request). */
export interface NatsRequester {
  request(
    subject: string,
    payload?: string | Uint8Array,
    options?: { timeout: number },
  ): Promise<{ data: Uint8Array }>;
}

/** A nats.js `JetStreamManager`, as far as the probe uses it. */
export interface StreamInfoSource {
  readonly streams: { info(stream: string): Promise<StreamInfoLike> };
}

/** A stream info, or the stream does not exist (a shard never written). */
export type StreamLookup =
  | { readonly found: true; readonly info: StreamInfoLike }
  | { readonly found: false };

/** JetStream's error code for "stream not found". */
const STREAM_NOT_FOUND = 10059;

const decoder = new TextDecoder();

/**
 * Looks a stream up with `$JS.API.STREAM.INFO.<stream>` on a plain connection: one request, no
 * JetStream client needed. `apiPrefix` is `$JS.API`, or `$JS.<domain>.API` for a JetStream domain.
 */
export async function requestStreamInfo(
  connection: NatsRequester,
  apiPrefix: string,
  stream: string,
  timeoutMs: number,
): Promise<StreamLookup> {
  const reply = await connection.request(`${apiPrefix}.STREAM.INFO.${stream}`, "", { timeout: timeoutMs });
  const body = JSON.parse(decoder.decode(reply.data)) as StreamInfoLike & {
    error?: { code?: number; err_code?: number; description?: string };
  };
  if (body.error !== undefined) {
    if (body.error.err_code === STREAM_NOT_FOUND) return { found: false };
    throw new BackendErrorReply(
      `${body.error.description ?? "JetStream API error"} (${body.error.code}, ${body.error.err_code})`,
    );
  }
  return { found: true, info: body };
}

/** Looks a stream up through a `JetStreamManager`; its "stream not found" error means `found: false`. */
export async function managerStreamInfo(manager: StreamInfoSource, stream: string): Promise<StreamLookup> {
  try {
    return { found: true, info: await manager.streams.info(stream) };
  } catch (error) {
    const api = (error as { apiError?: () => { err_code?: number } }).apiError?.();
    if (api?.err_code === STREAM_NOT_FOUND || (error as Error)?.name === "StreamNotFoundError")
      return { found: false };
    throw error;
  }
}
