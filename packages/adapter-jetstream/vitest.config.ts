import { defineNetmeshConfig } from "@netmesh/vitest-config";

// The global setup makes sure the shared nats-server with JetStream runs on 127.0.0.1:4222.
export default defineNetmeshConfig({ test: { globalSetup: ["test/support/global-setup.ts"] } });
