import { MemoryAdapter, MemoryStore } from "@netmesh/core";
import { runGroupConformance } from "../src/index.js";

/** One store per namespace: readers over one store form a group, as processes over one backend do. */
const stores = new Map<string, MemoryStore>();

runGroupConformance({
  name: "memory",
  create: (namespace) => {
    let store = stores.get(namespace);
    if (store === undefined) {
      store = new MemoryStore();
      stores.set(namespace, store);
    }
    return new MemoryAdapter({ store });
  },
  cleanup: async (namespaces) => {
    for (const namespace of namespaces) stores.delete(namespace);
  },
});
