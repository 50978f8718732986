// Run by test/connect-leak.test.ts in a child process: `node [--import tsx] connect-and-exit.mjs
// <adapter module> <nats url> <connectTimeoutMs>`. Tries `createBus` with a JetStreamAdapter on the URL
// (a server that never answers), prints one JSON line about the failure, and then does nothing: the
// process must exit on its own. A socket or timer left behind by the failed attempt keeps it alive.
import { pathToFileURL } from "node:url";
import { createBus } from "@netmesh/core";

const [adapterModule, url, timeout] = process.argv.slice(2);
const { JetStreamAdapter } = await import(pathToFileURL(adapterModule).href);
const adapter = new JetStreamAdapter({ url, prefix: "leak", connectTimeoutMs: Number(timeout) });
const started = Date.now();
try {
  const bus = await createBus({ adapter, shards: 1 });
  await bus.shutdown();
  console.log(JSON.stringify({ failed: false }));
} catch (error) {
  console.log(
    JSON.stringify({
      failed: true,
      name: error?.name,
      kind: error?.kind,
      message: error?.message,
      ms: Date.now() - started,
    }),
  );
}
