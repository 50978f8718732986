import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts" },
  // ESM only, unlike the other packages: the suite imports vitest, and vitest throws when loaded with
  // require(), so a CommonJS build could never run. Node ≥ 20.19 can still require() this ESM build.
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
  treeshake: true,
});
