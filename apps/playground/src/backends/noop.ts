import type { Backend } from "./backend.js";

/** `@netmesh/adapter-noop`: discards every batch and counts it; the run checks those counts. */
export async function openNoop(): Promise<Backend> {
  const { NoopAdapter } = await import("@netmesh/adapter-noop");
  return {
    name: "noop",
    description: "discards every batch (counts only)",
    readable: false,
    server: undefined,
    watchReplication: undefined,
    createAdapter: () => new NoopAdapter(),
    cleanup: async () => "nothing to remove (noop stores nothing)",
  };
}
