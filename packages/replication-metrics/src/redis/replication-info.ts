/** One replica as its master lists it (`slaveN:ip=…,port=…,state=…,offset=…,lag=…`). */
export interface ListedReplica {
  /** `ip:port`: the address the replica announced. */
  readonly address: string;
  readonly ip: string;
  readonly port: number;
  /** `online` once synced; `wait_bgsave` / `send_bulk` during a full sync. */
  readonly state: string;
  /** The replication offset the replica last acknowledged (replicas ack once a second). */
  readonly offset: bigint;
  /** Seconds since that acknowledgement. */
  readonly ackAgeSeconds: number;
}

/** The fields of `INFO replication` the probe uses. Offsets are bigints: Redis keeps them as 64-bit. */
export interface ReplicationInfo {
  /** `master` or `slave`. */
  readonly role: string;
  /** The replication history this server is on: its own as a master, its master's once synced. */
  readonly replId: string | undefined;
  /** `master_repl_offset`: how far this server's replication stream goes. */
  readonly offset: bigint | undefined;
  /** As a master: the connected replicas. */
  readonly replicas: readonly ListedReplica[];
  /** As a replica: whom it follows (`host:port`). */
  readonly masterAddress: string | undefined;
  /** As a replica: `master_link_status:up`. */
  readonly linkUp: boolean;
  /** As a replica: seconds the link has been down (when it is). */
  readonly linkDownSeconds: number | undefined;
  /** As a replica: `slave_repl_offset`, how much of the master's stream it has applied. */
  readonly appliedOffset: bigint | undefined;
}

function offsetOf(text: string | undefined): bigint | undefined {
  return text !== undefined && /^-?\d+$/.test(text) ? BigInt(text) : undefined;
}

function listedReplica(value: string): ListedReplica | undefined {
  const fields = new Map<string, string>();
  for (const pair of value.split(",")) {
    const eq = pair.indexOf("=");
    if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const ip = fields.get("ip");
  const port = Number(fields.get("port"));
  const offset = offsetOf(fields.get("offset"));
  if (ip === undefined || !Number.isInteger(port) || offset === undefined) return undefined;
  const lag = Number(fields.get("lag"));
  return {
    address: `${ip}:${port}`,
    ip,
    port,
    state: fields.get("state") ?? "unknown",
    offset,
    ackAgeSeconds: Number.isFinite(lag) && lag >= 0 ? lag : 0,
  };
}

/** Parses the text of `INFO replication`; unknown or malformed lines are ignored. */
export function parseReplicationInfo(text: string): ReplicationInfo {
  const fields = new Map<string, string>();
  const replicas: ListedReplica[] = [];
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (line.startsWith("#") || colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (/^slave\d+$/.test(key)) {
      const replica = listedReplica(value);
      if (replica !== undefined) replicas.push(replica);
    } else {
      fields.set(key, value);
    }
  }
  const masterHost = fields.get("master_host");
  const masterPort = fields.get("master_port");
  const linkDown = Number(fields.get("master_link_down_since_seconds"));
  return {
    role: fields.get("role") ?? "unknown",
    replId: fields.get("master_replid"),
    offset: offsetOf(fields.get("master_repl_offset")),
    replicas,
    masterAddress: masterHost === undefined ? undefined : `${masterHost}:${masterPort ?? ""}`,
    linkUp: fields.get("master_link_status") === "up",
    linkDownSeconds: Number.isFinite(linkDown) && linkDown >= 0 ? linkDown : undefined,
    appliedOffset: offsetOf(fields.get("slave_repl_offset")),
  };
}
