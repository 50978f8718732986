import { type GroupCoordinator, MemoryAdapter, MemoryStore, TransientError } from "@netmesh/core";
import { afterEach, describe, expect, it } from "vitest";
import { crashable } from "../src/groups/harness.js";

const adapters: MemoryAdapter[] = [];

afterEach(async () => {
  await Promise.all(adapters.splice(0).map((adapter) => adapter.shutdown()));
});

async function coordinatorOver(store: MemoryStore, crashed?: () => boolean): Promise<GroupCoordinator> {
  const adapter = new MemoryAdapter({ store });
  adapters.push(adapter);
  await adapter.init();
  if (crashed !== undefined) crashable(adapter, crashed);
  return adapter.coordination!();
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("group harness: a crashable coordinator", () => {
  it("rejects every call once crashed, and watch still returns the function that ends the watch", async () => {
    let crashed = false;
    const coordinator = await coordinatorOver(new MemoryStore(), () => crashed);
    crashed = true;
    await expect(coordinator.members("g")).rejects.toBeInstanceOf(TransientError);
    const unwatch = coordinator.watch!("g", () => {});
    expect(typeof unwatch).toBe("function");
    unwatch();
  });

  it("a watch set up before the crash goes silent, as a dead process hears nothing", async () => {
    const store = new MemoryStore();
    let crashed = false;
    const coordinator = await coordinatorOver(store, () => crashed);
    const alive = await coordinatorOver(store);
    let heard = 0;
    const unwatch = coordinator.watch!("g", () => heard++);
    await alive.heartbeat("g", "a", 1_000);
    await turn();
    expect(heard).toBe(1);
    crashed = true;
    await alive.heartbeat("g", "b", 1_000);
    await turn();
    expect(heard).toBe(1);
    unwatch();
  });
});
