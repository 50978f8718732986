import { type EventBus, createBus } from "@netmesh/core";
import { afterAll, describe, expect, it } from "vitest";
import { RedisAdapter } from "../src/index.js";
import { sleep } from "./support/helpers.js";
import { type OwnRedis, startOwnRedis } from "./support/own-redis.js";

const servers: OwnRedis[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

// A subscriber following two producing buses (two producer nonces) over XREAD BLOCK gets every event
// exactly once, in per-key order per producer, also across a restart of the server mid-stream.
describe("subscribe() on Redis", () => {
  it("follows two producers through a server restart: every event once, per-key order, no gap", async () => {
    const server = await startOwnRedis(["--appendonly", "yes", "--appendfsync", "always"]);
    servers.push(server);
    const prefix = "follow";
    const buses: EventBus[] = [];
    const make = async () => {
      const bus = await createBus({ adapter: new RedisAdapter({ url: server.url(), prefix }), shards: 4 });
      buses.push(bus);
      return bus;
    };
    const [first, second, reader] = [await make(), await make(), await make()];
    const perProducer = 6_000;
    const seen = new Map<string, number[]>(); // "producer key" → sequence numbers in delivery order
    let delivered = 0;
    const controller = new AbortController();
    const consuming = (async () => {
      for await (const event of reader.subscribe({ signal: controller.signal, pageSize: 500 })) {
        const { p, k, n } = JSON.parse(event.json) as { p: number; k: number; n: number };
        const list = seen.get(`${p} ${k}`) ?? [];
        list.push(n);
        seen.set(`${p} ${k}`, list);
        if (++delivered === 2 * perProducer) controller.abort();
      }
    })();
    // The producers write half their events, wait while the server goes down, and write the other half
    // while it is down and once it is back: the restart falls in the middle of the stream.
    let halfWritten = 0;
    let releaseProducers!: () => void;
    const restarting = new Promise<void>((resolve) => {
      releaseProducers = resolve;
    });
    const produce = async (bus: EventBus, p: number) => {
      for (let n = 0; n < perProducer; n++) {
        if (n === perProducer / 2) {
          halfWritten++;
          await restarting;
        }
        await bus.ingestOrWait({ p, k: n % 40, n }, { key: `key-${n % 40}` });
        if (n % 500 === 0) await sleep(5);
      }
      await bus.flush();
    };
    const producing = Promise.all([produce(first, 1), produce(second, 2)]);
    const waitUntil = async (done: () => boolean) => {
      const until = Date.now() + 20_000;
      while (!done() && Date.now() < until) await sleep(5);
    };
    await waitUntil(() => halfWritten === 2 && delivered > 0);
    const deliveredBeforeRestart = delivered;
    const restart = server.restart(); // SIGKILL, then the same port and AOF: clients reconnect
    releaseProducers();
    await restart;
    await producing;
    const deadline = Date.now() + 30_000;
    while (delivered < 2 * perProducer && Date.now() < deadline) await sleep(20);
    controller.abort();
    await consuming;
    for (const bus of [first, second]) expect(bus.stats()).toMatchObject({ dropped: 0, dispatched: perProducer });
    expect(deliveredBeforeRestart).toBeGreaterThan(0);
    expect(deliveredBeforeRestart).toBeLessThanOrEqual(perProducer); // at most the halves written before
    expect(delivered).toBe(2 * perProducer);
    for (const [key, sequence] of seen) {
      const sorted = [...sequence].sort((a, b) => a - b);
      expect(sequence, `order of ${key}`).toEqual(sorted);
      expect(new Set(sequence).size, `duplicates of ${key}`).toBe(sequence.length);
    }
    await Promise.all(buses.map((bus) => bus.shutdown()));
  }, 60_000);
});
