import { defineNetmeshConfig } from "@netmesh/vitest-config";

export default defineNetmeshConfig();
