// A child process of the consumer-group acceptance run (see `runGroupAcceptance` in the testkit):
// a producer, a group member or a reader over JetStream, as its JSON argument says.
import { runAcceptanceChild } from "@netmesh/adapter-testkit";
import { JetStreamAdapter } from "../../src/index.js";
import { NATS_URL } from "./nats.js";

await runAcceptanceChild((prefix) => new JetStreamAdapter({ url: NATS_URL, prefix }));
