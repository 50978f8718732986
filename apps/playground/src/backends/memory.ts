import { MemoryAdapter, MemoryStore } from "@netmesh/core";
import type { Backend } from "./backend.js";

/**
 * The embedded default. One {@link MemoryStore} per run, shared by every adapter over it, the way
 * connections share a server: the bus writes through one adapter and the readers read through others.
 */
export function openMemory(): Backend {
  const store = new MemoryStore();
  return {
    name: "memory",
    description: "in-process MemoryStore",
    readable: true,
    server: undefined,
    watchReplication: undefined,
    createAdapter: () => new MemoryAdapter({ store }),
    cleanup: async () => "nothing to remove (in-process store)",
  };
}
