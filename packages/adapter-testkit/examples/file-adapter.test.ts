import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAdapterConformance } from "@netmesh/adapter-testkit";
import { FileAdapter } from "./file-adapter.js";

let root = "";

runAdapterConformance({
  name: "file",
  // Each case gets its own namespace: here, its own directory. Same namespace, same files.
  create: ({ namespace }) => new FileAdapter({ directory: join(root, namespace) }),
  reset: ({ namespace }) => rm(join(root, namespace), { recursive: true, force: true }),
  setup: async () => {
    root = await mkdtemp(join(tmpdir(), "netmesh-file-adapter-"));
  },
  teardown: () => rm(root, { recursive: true, force: true }),
});
