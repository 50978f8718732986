import { MemoryAdapter, MemoryStore } from "@netmesh/core";
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

// The full contract: MemoryAdapter is readable, dedups, is ordered, and persists through a shared store.
runAdapterConformance({
  name: "memory",
  create: ({ namespace }) => new MemoryAdapter({ store: storeFor(namespace) }),
  reset: ({ namespace }) => {
    stores.delete(namespace);
  },
});

// Without a shared store every instance is alone: declared as such, the persistence cases are skipped
// and the rest must still pass.
runAdapterConformance({
  name: "memory, private store",
  create: () => new MemoryAdapter(),
  features: { persistent: false },
});
