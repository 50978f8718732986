import { FatalError, type GroupCoordinator } from "@netmesh/core/adapter";
import type { Cluster, Redis } from "ioredis";
import { bounded } from "./bounded.js";
import { classify } from "./classify.js";
import { GroupChanges } from "./group-changes.js";
import { GROUP_SCRIPT } from "./group-script.js";
import type { Redactor } from "./redaction.js";
import { Script } from "./script.js";

/** What the coordinator needs from its adapter. */
export interface CoordinatorHost {
  readonly prefix: string;
  readonly commandTimeoutMs: number;
  readonly redactor: Redactor;
  /** The client; throws `AdapterShutdownError` when the adapter is not ready. */
  client(): Redis | Cluster;
}

/**
 * Keys of one group, under one hash tag: `{<prefix>:group:<name>}:leases|checkpoints|members`, and
 * the channel its changes are published on, `…:changes` (passed as a key for the script's slot).
 */
export function groupKeys(prefix: string, group: string): [string, string, string, string] {
  if (typeof group !== "string" || !/^[\x21-\x7a\x7c\x7e]{1,200}$/.test(group)) {
    throw new FatalError(
      `redis: group name ${JSON.stringify(String(group).slice(0, 64))} is not usable in a key`,
    );
  }
  const tag = `{${prefix}:group:${group}}`;
  return [`${tag}:leases`, `${tag}:checkpoints`, `${tag}:members`, `${tag}:changes`];
}

function checkId(id: string): void {
  if (typeof id !== "string" || id.length === 0)
    throw new FatalError("redis: a checkpoint must be an entry id");
}

function ttlArg(ttlMs: number): string {
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new FatalError(`redis: ttlMs must be > 0, got ${ttlMs}`);
  return String(Math.ceil(ttlMs));
}

/** A {@link GroupCoordinator} whose watches end with {@link stop}. */
export interface RedisCoordinator extends GroupCoordinator {
  /** Closes the subscriber connection of the watches (the adapter shuts down). */
  stop(): void;
}

/**
 * A {@link GroupCoordinator} on Redis: one atomic script call per operation (see the group script),
 * each bounded by `commandTimeoutMs` and rejecting with the contract's classified errors. `watch`
 * subscribes to the channel the script publishes a group's changes on.
 */
export function redisCoordinator(host: CoordinatorHost): RedisCoordinator {
  const script = new Script(GROUP_SCRIPT);
  const changes = new GroupChanges();
  /** A watch of `group` established before a read is live once the read returns. */
  const watched = async (group: string) => changes.ready(groupKeys(host.prefix, group)[3]);
  const run = async (group: string, what: string, args: string[]): Promise<unknown> => {
    const keys = groupKeys(host.prefix, group);
    const client = host.client();
    try {
      return await bounded(script.run(client, 4, [...keys, ...args]), host.commandTimeoutMs, `group ${what}`);
    } catch (error) {
      throw classify(error, `group ${what} of ${keys[0]}`, host.redactor);
    }
  };
  const plain = async <T>(
    group: string,
    what: string,
    call: (keys: string[], client: Redis | Cluster) => Promise<T>,
  ) => {
    const keys = groupKeys(host.prefix, group);
    const client = host.client();
    try {
      return await bounded(call(keys, client), host.commandTimeoutMs, `group ${what}`);
    } catch (error) {
      throw classify(error, `group ${what} of ${keys[0]}`, host.redactor);
    }
  };
  return {
    async heartbeat(group, member, ttlMs) {
      await run(group, "heartbeat", ["heartbeat", member, ttlArg(ttlMs)]);
    },
    async leave(group, member) {
      await run(group, "leave", ["leave", member]);
    },
    async members(group) {
      const [reply] = await Promise.all([
        run(group, "members", ["members"]) as Promise<string[]>,
        watched(group),
      ]);
      return [...reply].sort();
    },
    async leases(group) {
      const [reply] = await Promise.all([
        run(group, "leases", ["leases"]) as Promise<string[]>,
        watched(group),
      ]);
      const owners = new Map<number, string>();
      for (let i = 0; i + 1 < reply.length; i += 2) owners.set(Number(reply[i]), reply[i + 1]!);
      return owners;
    },
    async acquire(group, shard, member, token, ttlMs) {
      return (await run(group, "acquire", ["acquire", String(shard), member, token, ttlArg(ttlMs)])) === 1;
    },
    async renew(group, shard, token, ttlMs) {
      return (await run(group, "renew", ["renew", String(shard), token, ttlArg(ttlMs)])) === 1;
    },
    async release(group, shard, token, checkpoint) {
      if (checkpoint !== undefined) checkId(checkpoint);
      const last = checkpoint === undefined ? [] : [checkpoint];
      await run(group, "release", ["release", String(shard), token, ...last]);
    },
    async readCheckpoint(group, shard) {
      const id = await plain(group, "readCheckpoint", (keys, client) => client.hget(keys[1]!, String(shard)));
      return id ?? undefined;
    },
    async writeCheckpoint(group, shard, token, id) {
      checkId(id);
      return (await run(group, "checkpoint", ["checkpoint", String(shard), token, id])) === 1;
    },
    watch(group, listener) {
      return changes.watch(host.client(), groupKeys(host.prefix, group)[3], listener);
    },
    stop() {
      changes.close();
    },
  };
}
