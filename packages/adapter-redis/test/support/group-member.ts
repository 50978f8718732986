// A consumer-group member in a process of its own (run with `node --import tsx`): it writes each
// delivered event as a line `shard:id` to a file, synchronously, before asking for the next one, so
// everything it checkpointed is on disk even when it is SIGKILLed. SIGTERM closes it cleanly.
import { openSync, writeSync } from "node:fs";
import { createReader } from "@netmesh/core";
import { RedisAdapter } from "../../src/index.js";

const [url, prefix, member, out, pageSize] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const fd = openSync(out, "a");
const reader = await createReader({ adapter: new RedisAdapter({ url, prefix }), shardRefreshMs: 100 });
const subscription = reader.subscribe({
  group: "procs",
  member,
  leaseTtlMs: 1_000,
  rebalanceMs: 200,
  pageSize: Number(pageSize),
});
process.on("SIGTERM", () => {
  void reader.close().then(() => process.exit(0));
});
process.send?.("ready");
for await (const event of subscription) writeSync(fd, `${event.shard}:${event.id}\n`);
