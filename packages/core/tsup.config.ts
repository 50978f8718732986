import { libraryConfig } from "@netmesh/tsup-config";

export default libraryConfig({
  entry: { index: "src/index.ts", adapter: "src/adapter.ts" },
  // One shared chunk for both entry points, so `@netmesh/core` and `@netmesh/core/adapter` hand out the
  // same error classes (instanceof works across them) in CommonJS as well as ESM.
  splitting: true,
});
