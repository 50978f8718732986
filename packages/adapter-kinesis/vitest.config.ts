import { defineNetmeshConfig } from "@netmesh/vitest-config";

export default defineNetmeshConfig({
  test: {
    globalSetup: ["test/support/global-setup.ts"],
    // The SDK warns once per process that its 2027 releases need Node 22; it says nothing about these tests.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
