import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", adapter: "src/adapter.ts" },
  format: ["esm", "cjs"],
  dts: true,
  // One shared chunk for both entry points, so `@netmesh/core` and `@netmesh/core/adapter` hand out the
  // same error classes (instanceof works across them) in CommonJS as well as ESM.
  splitting: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  treeshake: true,
});
