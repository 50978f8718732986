import { type EventBus, createBus } from "@netmesh/core";
import { type PrivateServer, startNats } from "@netmesh/test-backends";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JetStreamAdapter } from "../src/index.js";
import { uniquePrefix } from "./support/nats.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A subscriber following two producing buses (two producer nonces) with the streaming read gets every
// event exactly once, in per-key order per producer, also across a restart of the server mid-stream.
describe("subscribe() on JetStream", () => {
  let server: PrivateServer;
  beforeAll(async () => {
    server = await startNats();
  });
  afterAll(() => server?.stop());

  it("follows two producers through a server restart: every event once, per-key order, no gap", async () => {
    const prefix = uniquePrefix("follow");
    const buses: EventBus[] = [];
    const make = async () => {
      const bus = await createBus({ adapter: new JetStreamAdapter({ url: server.url, prefix }), shards: 4 });
      buses.push(bus);
      return bus;
    };
    const [first, second, reader] = [await make(), await make(), await make()];
    const perProducer = 4_000;
    const seen = new Map<string, number[]>();
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
        if (n % 400 === 0) await sleep(5);
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
    await server.kill();
    releaseProducers(); // they write while the server is down (the bus holds and retries)
    await sleep(1_000);
    await server.restart();
    await producing;
    const deadline = Date.now() + 40_000;
    while (delivered < 2 * perProducer && Date.now() < deadline) await sleep(20);
    controller.abort();
    await consuming;
    for (const bus of [first, second])
      expect(bus.stats()).toMatchObject({ dropped: 0, dispatched: perProducer });
    expect(deliveredBeforeRestart).toBeGreaterThan(0);
    expect(deliveredBeforeRestart).toBeLessThanOrEqual(perProducer); // at most the halves written before
    expect(delivered).toBe(2 * perProducer);
    for (const [key, sequence] of seen) {
      expect(sequence, `order of ${key}`).toEqual([...sequence].sort((a, b) => a - b));
      expect(new Set(sequence).size, `duplicates of ${key}`).toBe(sequence.length);
    }
    await Promise.all(buses.map((bus) => bus.shutdown({ deadlineMs: 5_000 })));
  }, 90_000);
});
