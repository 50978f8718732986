import { defineConfig } from "tsup";

/**
 * The build every @netmesh library shares: ESM and CommonJS with bundled declarations for Node 20,
 * source maps, a clean dist. Packages override only what differs (entries, formats, splitting).
 * @param {import("tsup").Options} [overrides]
 */
export function libraryConfig(overrides = {}) {
  return defineConfig({
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    treeshake: true,
    ...overrides,
  });
}
