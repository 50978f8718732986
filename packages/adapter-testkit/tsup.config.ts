import { libraryConfig } from "@netmesh/tsup-config";

// ESM only, unlike the other packages: the suite imports vitest, and vitest throws when loaded with
// require(), so a CommonJS build could never run. Node ≥ 20.19 can still require() this ESM build.
export default libraryConfig({ format: ["esm"] });
