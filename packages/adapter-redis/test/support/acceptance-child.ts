// A child process of the consumer-group acceptance run (see `runGroupAcceptance` in the testkit):
// a producer, a group member or a reader over Redis, as its JSON argument says.
import { runAcceptanceChild } from "@netmesh/adapter-testkit";
import { RedisAdapter } from "../../src/index.js";

const url = process.env.NETMESH_REDIS_URL ?? "redis://127.0.0.1:6379";
await runAcceptanceChild((prefix) => new RedisAdapter({ url, prefix }));
