import { Counter, Gauge, type OpenMetricsContentType, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  MetricNameConflictError,
  ReplicationMetricsRegistry,
  U64_MAX,
  registerReplicationMetrics,
} from "../src/index.js";
import { expositionProblems } from "./support/exposition.js";

function busyRegistry(): ReplicationMetricsRegistry {
  const registry = new ReplicationMetricsRegistry();
  const a = registry.forChannel("netmesh_shard_0");
  a.recordReplicaLag(1_250);
  a.incrLeaderChange();
  a.incrSyncBytes(U64_MAX); // past 2^53: prom-client's own number formatting would round it
  const b = registry.forChannel('odd "name"\r\n');
  b.recordLeaderLag(0.5);
  b.incrUnderCapacity();
  return registry;
}

describe("registerReplicationMetrics", () => {
  it("puts the exact text into a prom-client registry's scrape, beside its own metrics", async () => {
    const registry = busyRegistry();
    const prom = new Registry();
    const requests = new Counter({ name: "http_requests_total", help: "Requests.", registers: [prom] });
    requests.inc(3);
    registerReplicationMetrics(registry, prom);
    new Gauge({ name: "queue_depth", help: "Depth.", registers: [prom] }).set(7);

    const scrape = await prom.metrics();
    expect(scrape).toContain(registry.renderPrometheus());
    expect(scrape).toContain("http_requests_total 3\n");
    expect(scrape).toContain("queue_depth 7\n");
    expect(scrape).toContain(
      'dataforts_replication_sync_bytes_total{channel="netmesh_shard_0"} 18446744073709551615\n',
    );
    expect(expositionProblems(scrape)).toEqual([]);
    // One HELP and one TYPE per family, across the whole scrape.
    for (const kind of ["HELP", "TYPE"]) {
      const names = scrape.match(new RegExp(`^# ${kind} (\\S+)`, "gm"))!;
      expect(names).toHaveLength(10);
      expect(new Set(names).size).toBe(10);
    }
  });

  it("renders at scrape time: later updates show in the next scrape", async () => {
    const registry = new ReplicationMetricsRegistry();
    const prom = new Registry();
    registerReplicationMetrics(registry, prom);
    const empty = await prom.metrics();
    expect(empty).toBe(registry.renderPrometheus()); // alone, the scrape is exactly the text
    registry.forChannel("late").incrSkipAhead();
    expect(await prom.metrics()).toContain('dataforts_replication_skip_ahead_total{channel="late"} 1\n');
  });

  it("names counter families without _total on an OpenMetrics registry, and stays valid there", async () => {
    const registry = busyRegistry();
    const prom = new Registry<OpenMetricsContentType>();
    prom.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    registerReplicationMetrics(registry, prom);
    const scrape = await prom.metrics();
    expect(scrape.endsWith("# EOF\n")).toBe(true);
    expect(scrape).toContain("# TYPE dataforts_leader_changes counter\n");
    expect(scrape).toContain('dataforts_leader_changes_total{channel="netmesh_shard_0"} 1\n');
    expect(scrape).toContain("# TYPE dataforts_replication_lag_seconds gauge\n");
    expect(scrape).not.toMatch(/^# (HELP|TYPE) \S+_total /m);
  });

  it("refuses a registry that already has one of the names, and can be taken off again", async () => {
    const registry = new ReplicationMetricsRegistry();
    const prom = new Registry();
    new Counter({ name: "dataforts_leader_changes_total", help: "Mine.", registers: [prom] });
    expect(() => registerReplicationMetrics(registry, prom)).toThrow(MetricNameConflictError);
    try {
      registerReplicationMetrics(registry, prom);
    } catch (error) {
      expect(error).toMatchObject({
        code: "METRIC_NAME_CONFLICT",
        metricName: "dataforts_leader_changes_total",
      });
    }

    const clean = new Registry();
    const collector = registerReplicationMetrics(registry, clean);
    expect(() => registerReplicationMetrics(registry, clean)).toThrow(MetricNameConflictError);
    collector.unregister();
    collector.unregister();
    expect(await clean.metrics()).toBe("\n");
    registerReplicationMetrics(registry, clean); // free again
  });

  it("uses a format checker that does catch broken text", () => {
    const bad = [
      "# TYPE a counter\na 1\n# TYPE a counter\n", // second TYPE
      'b{channel="x\\q"} 1\n', // \q is no escape
      "# TYPE c gauge\nc 1\n# TYPE d gauge\nd 1\nc 2\n", // family split
      'e{channel="x"} one\n', // not a number
      "f 1", // no final newline
    ];
    for (const text of bad) expect(expositionProblems(text), text).not.toEqual([]);
    expect(expositionProblems(new ReplicationMetricsRegistry().renderPrometheus())).toEqual([]);
  });

  it("survives resetMetrics() and offers a JSON view", async () => {
    const registry = busyRegistry();
    const prom = new Registry();
    registerReplicationMetrics(registry, prom);
    prom.resetMetrics(); // the backends' figures are not the process's to reset
    expect(await prom.metrics()).toContain(registry.renderPrometheus());
    const [json] = await prom.getMetricsAsJSON();
    expect(json?.values).toContainEqual({
      metricName: "dataforts_replication_lag_seconds",
      labels: { channel: "netmesh_shard_0", role: "replica" },
      value: 1.25,
    });
    expect(json?.values).toContainEqual({
      metricName: "dataforts_replication_under_capacity_total",
      labels: { channel: 'odd "name"\r\n' },
      value: 1,
    });
  });
});
