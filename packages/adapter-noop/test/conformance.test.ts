import { runAdapterConformance } from "@netmesh/adapter-testkit";
import { NoopAdapter } from "../src/index.js";

// The noop adapter discards what it is given, and its capabilities say so (readable: false): the suite
// skips the read-back cases and checks the rest (lifecycle, shutdown, errors, every kind of batch
// accepted, and a bus round trip that loses nothing by the bus's own counts).
runAdapterConformance({
  name: "noop",
  create: () => new NoopAdapter(),
});
