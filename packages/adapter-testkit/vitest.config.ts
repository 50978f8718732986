import { fileURLToPath } from "node:url";
import { defineNetmeshConfig } from "@netmesh/vitest-config";

export default defineNetmeshConfig({
  // The example adapter imports "@netmesh/adapter-testkit" exactly as the README shows; inside this
  // package that name means the sources under test, not a build of them.
  resolve: {
    alias: { "@netmesh/adapter-testkit": fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
  },
  test: { include: ["examples/**/*.test.ts"] },
});
