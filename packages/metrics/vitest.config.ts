import { defineNetmeshConfig } from "@netmesh/vitest-config";

export default defineNetmeshConfig({ test: { globalSetup: ["test/global-setup.ts"] } });
