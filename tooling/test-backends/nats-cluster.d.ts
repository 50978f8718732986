/** What the cluster helper needs of a NATS connection. */
export interface ClusterConnection {
  close(): Promise<void>;
}

/** What the cluster helper needs of a JetStream manager (nats.js's `JetStreamManager` fits). */
export interface ClusterManager {
  getAccountInfo(): Promise<unknown>;
  streams: {
    info(stream: string): Promise<{
      cluster?: { leader?: string; replicas?: readonly { name: string; current: boolean; offline?: boolean }[] };
    }>;
  };
}

/** The NATS client the caller brings: this package has no dependencies. */
export interface ClusterClient<C extends ClusterConnection> {
  /** Connects to the given servers (in order), with the caller's options. */
  connect(servers: string[]): Promise<C>;
  jetstreamManager(nc: C, options: { timeout: number; checkAPI: boolean }): Promise<ClusterManager>;
}

/** One node's process. */
export interface ClusterServer {
  readonly running: boolean;
  /** Spawns it (again, after a kill: same port and store) and resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGSTOP, resolved once it is stopped: it keeps its sockets and answers nothing. */
  pause(): Promise<void>;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** SIGKILL, resolved once it exited. */
  kill(): Promise<void>;
}

/** One node of the cluster. */
export interface ClusterNode {
  /** The server name (`n1`, `n2`, `n3`): what stream info reports as leader and replica names. */
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly server: ClusterServer;
}

/** A 3-node nats-server cluster with JetStream, routes on loopback, each node its own store directory. */
export interface NatsCluster<C extends ClusterConnection> {
  readonly nodes: readonly ClusterNode[];
  /** Every node's URL, comma-separated: what a client or an adapter takes to fail over between them. */
  readonly urls: string;
  /** The node called `name`. */
  node(name: string): ClusterNode;
  /** A connection of the test's own to the nodes (closed by `stop`). */
  connect(): Promise<C>;
  /** Resolves once JetStream answers an account-info request (a meta leader is elected). */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /** The stream's leader once it has one and every replica is current; `exclude`: a leader other than it. */
  waitForLeader(stream: string, exclude?: string, timeoutMs?: number): Promise<string>;
  /** The stream's leader and followers once it has replicas, all current. */
  replicasOf(stream: string, timeoutMs?: number): Promise<{ leader: string; followers: string[] }>;
  /** SIGSTOP of node `name` (see `ClusterServer.pause`). */
  pause(name: string): Promise<void>;
  /** SIGCONT of node `name`. */
  resume(name: string): void;
  /** Kills every node and removes the store directories. */
  stop(): Promise<void>;
}

/** Options of `startNatsCluster`. */
export interface NatsClusterOptions<C extends ClusterConnection> {
  readonly client: ClusterClient<C>;
  /** Placement tags per node name (`server_tags`). */
  readonly tags?: Readonly<Record<string, readonly string[]>>;
  /** The cluster's name. Default "netmesh-test". */
  readonly clusterName?: string;
}

/** Starts the three nodes and waits until JetStream answers. */
export declare function startNatsCluster<C extends ClusterConnection>(
  options: NatsClusterOptions<C>,
): Promise<NatsCluster<C>>;
