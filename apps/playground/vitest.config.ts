import { defineNetmeshConfig } from "@netmesh/vitest-config";

export default defineNetmeshConfig({
  test: { globalSetup: ["test/support/global-setup.ts"] },
});
