import { MemoryAdapter, MemoryStore } from "@netmesh/core";
import type { AdapterCapabilities } from "@netmesh/core/adapter";
import { runAdapterConformance } from "../src/index.js";

/** One store per namespace: adapters on the same namespace share data, as on a real backend. */
const stores = new Map<string, MemoryStore>();

function storeFor(namespace: string): MemoryStore {
  let store = stores.get(namespace);
  if (store === undefined) {
    store = new MemoryStore();
    stores.set(namespace, store);
  }
  return store;
}

// The full contract: MemoryAdapter is readable, dedups, is ordered, persists through a shared store,
// streams and lists its shards.
runAdapterConformance({
  name: "memory",
  create: ({ namespace }) => new MemoryAdapter({ store: storeFor(namespace) }),
  reset: ({ namespace }) => {
    stores.delete(namespace);
  },
});

/** A MemoryAdapter over a store of its own, which honestly declares that nothing outlives it. */
class PrivateMemoryAdapter extends MemoryAdapter {
  override readonly capabilities: AdapterCapabilities = {
    ...new MemoryAdapter().capabilities,
    persistent: false,
  };
}

// Every instance alone: the persistence cases are skipped and the rest must still pass.
runAdapterConformance({
  name: "memory, private store",
  create: () => new PrivateMemoryAdapter(),
});
