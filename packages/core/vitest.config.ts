import { fileURLToPath } from "node:url";
import { defineNetmeshConfig } from "@netmesh/vitest-config";

export default defineNetmeshConfig({
  // The scaling tests check that removed shards are garbage-collected.
  test: { execArgv: ["--expose-gc"] },
  // The examples import the package by name, as users do; resolve that to the sources under test.
  resolve: {
    alias: [
      { find: /^@netmesh\/core$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
    ],
  },
});
