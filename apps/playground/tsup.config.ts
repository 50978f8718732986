import { defineConfig } from "tsup";

export default defineConfig({
  // One executable bundle; @netmesh/core stays an external import (a workspace dependency).
  entry: { cli: "src/cli.ts" },
  format: ["esm"],
  banner: { js: "#!/usr/bin/env node" },
  sourcemap: true,
  clean: true,
  target: "node20",
});
