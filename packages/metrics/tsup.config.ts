import { libraryConfig } from "@netmesh/tsup-config";

export default libraryConfig({
  entry: { index: "src/index.ts", otel: "src/otel.ts" },
  // One shared chunk for both entry points, so importing both keeps one diagnostics subscription per
  // channel (the routes are module state), in CommonJS as well as ESM.
  splitting: true,
});
