// The playground's live dashboard: reads /events (Server-Sent Events) and draws uPlot charts.
// Plain browser JavaScript, no framework and no build step; uPlot is the global `uPlot`.

const COLORS = [
  "#6aa8ff",
  "#3ecf8e",
  "#f5b942",
  "#ff7eb6",
  "#a78bfa",
  "#4dd0e1",
  "#ff8a5c",
  "#c6e377",
  "#f06292",
  "#90a4ae",
  "#ffd54f",
  "#81c784",
  "#64b5f6",
  "#ba68c8",
  "#e57373",
  "#4db6ac",
];
const MARKS = {
  "scale-up": "#3ecf8e",
  draining: "#f5b942",
  removed: "#f5b942",
  outage: "#ff5c6c",
  recovered: "#6aa8ff",
};
const count = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const short = (v) =>
  v == null
    ? "–"
    : Math.abs(v) >= 1e6
      ? `${decimal.format(v / 1e6)}M`
      : Math.abs(v) >= 1e4
        ? `${decimal.format(v / 1e3)}k`
        : decimal.format(v);

/** An axis label for a duration in ms: `250 ms`, `2.5 s`. */
const milliseconds = (v) => (v >= 1000 ? `${decimal.format(v / 1000)} s` : `${decimal.format(v)} ms`);

const data = {
  xs: [],
  shardIds: [],
  perShard: new Map(), // id -> { ingest: [], dispatch: [], fill: [] }
  batch: { mean: [], p50: [], max: [] },
  latency: { p50: [], p99: [], queue: [] },
  consumer: { lag: [], p50: [], p99: [] },
  losses: { dropped: [], uncertain: [], retries: [] },
  shards: { active: [], draining: [] },
  replication: { lag: [] },
  timeline: [],
  last: null,
  summary: null,
};
const charts = {};
// What the browser test reads: the charts' data and the final summary.
window.__dashboard = { charts, data, samples: () => data.xs.length, summary: () => data.summary };

const $ = (id) => document.getElementById(id);

function axis(label, values) {
  return {
    stroke: "#8f9bb3",
    grid: { stroke: "#263049", width: 1 },
    ticks: { stroke: "#263049", width: 1 },
    ...(label ? { label, labelSize: 18, labelFont: "12px DejaVu Sans, sans-serif" } : {}),
    font: "12px DejaVu Sans, sans-serif",
    values: values ?? ((_u, splits) => splits.map(short)),
  };
}

const markers = {
  hooks: {
    draw: [
      (u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
        for (const entry of data.timeline) {
          const color = MARKS[entry.kind];
          if (color === undefined) continue;
          const x = Math.round(u.valToPos(entry.atMs / 1000, "x", true));
          if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
          ctx.strokeStyle = color;
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      },
    ],
  },
};

function makeChart(id, series, scales = {}) {
  const el = $(id);
  charts[id]?.destroy();
  const opts = {
    width: el.clientWidth,
    height: 220,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false }, ...scales },
    axes: [axis(null, (_u, splits) => splits.map((v) => `${decimal.format(v)} s`)), axis(null)],
    series: [{}, ...series.map((s) => ({ width: 2, points: { show: false }, spanGaps: false, ...s }))],
    plugins: [markers],
  };
  charts[id] = new uPlot(opts, chartData(id), el);
}

function perShardSeries() {
  return data.shardIds.map((shard, i) => ({ label: `shard ${shard}`, stroke: COLORS[i % COLORS.length] }));
}

function chartData(id) {
  const per = (field) => data.shardIds.map((shard) => data.perShard.get(shard)[field]);
  switch (id) {
    case "c-ingest":
      return [data.xs, ...per("ingest")];
    case "c-dispatch":
      return [data.xs, ...per("dispatch")];
    case "c-fill":
      return [data.xs, ...per("fill")];
    case "c-batch":
      return [data.xs, data.batch.mean, data.batch.p50, data.batch.max];
    case "c-latency":
      return [data.xs, data.latency.p50, data.latency.p99, data.latency.queue];
    case "c-consumer":
      return [data.xs, data.consumer.lag, data.consumer.p50, data.consumer.p99];
    case "c-losses":
      return [data.xs, data.losses.dropped, data.losses.uncertain, data.losses.retries];
    case "c-replication":
      return [data.xs, data.replication.lag];
    case "c-shards":
      return [data.xs, data.shards.active, data.shards.draining];
  }
}

function buildShardCharts() {
  makeChart("c-ingest", perShardSeries());
  makeChart("c-dispatch", perShardSeries());
  makeChart("c-fill", perShardSeries(), { y: { range: [0, 100] } });
}

function buildCharts() {
  buildShardCharts();
  buildReplicationChart();
  makeChart("c-batch", [
    { label: "mean", stroke: COLORS[0] },
    { label: "p50", stroke: COLORS[1] },
    { label: "max", stroke: COLORS[2], dash: [6, 4] },
  ]);
  makeChart("c-latency", [
    { label: "adapter p50", stroke: COLORS[1] },
    { label: "adapter p99", stroke: COLORS[3] },
    { label: "queue delay p99", stroke: COLORS[2], dash: [6, 4] },
  ]);
  // Two y axes on the consumer chart: events on the left, milliseconds on the right.
  charts["c-consumer"]?.destroy();
  const el = $("c-consumer");
  charts["c-consumer"] = new uPlot(
    {
      width: el.clientWidth,
      height: 220,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, ev: {}, ms: {} },
      axes: [
        axis(null, (_u, splits) => splits.map((v) => `${decimal.format(v)} s`)),
        { ...axis(null), scale: "ev" },
        {
          ...axis(null, (_u, splits) => splits.map(milliseconds)),
          scale: "ms",
          side: 1,
          size: 64,
          grid: { show: false },
        },
      ],
      series: [
        {},
        { label: "lag (events)", stroke: COLORS[0], width: 2, scale: "ev", points: { show: false } },
        { label: "e2e p50 (ms)", stroke: COLORS[1], width: 2, scale: "ms", points: { show: false } },
        { label: "e2e p99 (ms)", stroke: COLORS[3], width: 2, scale: "ms", points: { show: false } },
      ],
      plugins: [markers],
    },
    chartData("c-consumer"),
    el,
  );
  makeChart("c-losses", [
    { label: "dropped", stroke: COLORS[14] },
    { label: "uncertain", stroke: COLORS[2] },
    { label: "retries", stroke: COLORS[4] },
  ]);
  makeChart(
    "c-shards",
    [
      { label: "active", stroke: COLORS[1], paths: uPlot.paths.stepped({ align: 1 }) },
      { label: "draining", stroke: COLORS[2], paths: uPlot.paths.stepped({ align: 1 }) },
    ],
    { y: { range: (_u, _min, max) => [0, Math.max(4, max + 1)] } },
  );
}

function buildReplicationChart() {
  makeChart("c-replication", [{ label: "replica lag (ms)", stroke: COLORS[5] }]);
  charts["c-replication"].setSize({ width: $("c-replication").clientWidth, height: 160 });
}

function add(sample) {
  data.xs.push(sample.t);
  let newShard = false;
  for (const shard of sample.shards) {
    if (!data.perShard.has(shard.id)) {
      const blank = () => new Array(data.xs.length - 1).fill(null);
      data.perShard.set(shard.id, { ingest: blank(), dispatch: blank(), fill: blank() });
      data.shardIds.push(shard.id);
      data.shardIds.sort((a, b) => a - b);
      newShard = true;
    }
  }
  const live = new Map(sample.shards.map((s) => [s.id, s]));
  for (const [id, series] of data.perShard) {
    const shard = live.get(id);
    series.ingest.push(shard ? shard.ingestRate : null);
    series.dispatch.push(shard ? shard.dispatchRate : null);
    series.fill.push(shard ? shard.fill * 100 : null);
  }
  data.batch.mean.push(sample.batch.mean);
  data.batch.p50.push(sample.batch.p50);
  data.batch.max.push(sample.batch.max);
  data.latency.p50.push(sample.adapterMs.p50);
  data.latency.p99.push(sample.adapterMs.p99);
  data.latency.queue.push(sample.queueDelayMs.p99);
  data.consumer.lag.push(sample.consumers ? sample.consumers.lag : null);
  data.consumer.p50.push(sample.consumers ? sample.consumers.latencyMs.p50 : null);
  data.consumer.p99.push(sample.consumers ? sample.consumers.latencyMs.p99 : null);
  data.losses.dropped.push(sample.totals.dropped);
  data.losses.uncertain.push(sample.totals.uncertain);
  data.losses.retries.push(sample.retries.total);
  data.shards.active.push(sample.scaling.active);
  data.shards.draining.push(sample.scaling.draining);
  data.replication.lag.push(sample.replication ? sample.replication.replicaLagMs : null);
  data.timeline.push(...sample.timeline);
  data.last = sample;
  return newShard;
}

let drawPending = false;
let rebuildShards = false;
function redraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    if (rebuildShards) {
      rebuildShards = false;
      buildShardCharts();
    }
    for (const id of Object.keys(charts)) charts[id].setData(chartData(id));
    showNumbers();
    showTimeline();
  });
}

function setText(id, value, alert = false) {
  const el = $(id);
  el.textContent = value;
  el.classList.toggle("alert", alert);
}

function showNumbers() {
  const s = data.last;
  if (s === null) return;
  const t = s.totals;
  setText("k-ingested", count.format(t.ingested));
  setText("k-dispatched", count.format(t.dispatched));
  setText("k-pending", count.format(t.pending));
  setText("k-dropped", count.format(t.dropped), t.dropped > 0);
  setText("k-uncertain", count.format(t.uncertain), t.uncertain > 0);
  setText("k-rejected", count.format(t.rejected), t.rejected > 0);
  setText("k-retries", count.format(s.retries.total), s.retries.total > 0);
  setText("k-backpressure", `${count.format(s.backpressure.engaged)}×`, s.backpressure.engaged > 0);
  setText(
    "k-shards",
    s.scaling.draining > 0 ? `${s.scaling.active} +${s.scaling.draining}` : String(s.scaling.active),
  );
  setText("k-verified", count.format(s.verified));
  $("replication-note").textContent = s.replication
    ? `${count.format(s.replication.syncBytes)} bytes shipped to the replica`
    : "no replica in this run (--adapter redis --replica)";
  $("elapsed").textContent = `${decimal.format(s.t)} s`;
  if (data.summary === null) setStatus(`running: ${s.phase}`, "pill-run");
  const rows = [];
  const reasons = (title, counts) => {
    const nonZero = Object.entries(counts).filter(([, n]) => n > 0);
    rows.push([title, nonZero.length === 0 ? "none" : ""]);
    for (const [reason, n] of nonZero) rows.push([`  ${reason}`, count.format(n)]);
  };
  reasons("dropped", t.droppedBy);
  reasons("uncertain", t.uncertainBy);
  reasons("rejected", t.rejectedBy);
  reasons("retries", s.retries.byReason);
  fillTable("reasons", rows);
}

function fillTable(id, rows, testIds = []) {
  const body = $(id).tBodies[0];
  body.replaceChildren(
    ...rows.map(([label, value], i) => {
      const tr = document.createElement("tr");
      if (value === "0" || value === "none") tr.className = "zero";
      const a = document.createElement("td");
      a.textContent = label;
      const b = document.createElement("td");
      b.textContent = value;
      if (testIds[i]) b.dataset.testid = testIds[i];
      tr.append(a, b);
      return tr;
    }),
  );
}

function showTimeline() {
  const list = $("timeline");
  if (list.childElementCount === data.timeline.length) return;
  list.replaceChildren(
    ...data.timeline.slice(-200).map((entry) => {
      const li = document.createElement("li");
      li.innerHTML = '<span class="at"></span><span class="tag"></span><span class="text"></span>';
      li.children[0].textContent = `${decimal.format(entry.atMs / 1000)} s`;
      li.children[1].textContent = entry.kind;
      li.children[1].classList.add(entry.kind);
      li.children[2].textContent = entry.text;
      return li;
    }),
  );
  list.scrollTop = list.scrollHeight;
}

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = `pill ${kind}`;
}

function showSummary(summary) {
  data.summary = summary;
  const b = summary.bus;
  const v = summary.verification;
  const back =
    v.mode === "counts"
      ? "counted by the adapter"
      : v.mode === "group"
        ? "delivered to the group"
        : "read back";
  fillTable(
    "final",
    [
      ["produced", count.format(summary.produced)],
      ["ingested", count.format(b.ingested)],
      ["dispatched", count.format(b.dispatched)],
      ["dropped", count.format(b.dropped)],
      ["uncertain", count.format(b.uncertain)],
      ["rejected", count.format(b.rejected)],
      ["batches", count.format(b.batches)],
      [back, count.format(v.readBack)],
      [
        "sessions intact",
        v.mode === "counts"
          ? "not read"
          : `${count.format(summary.sessions.verified)} / ${count.format(summary.sessions.total)}`,
      ],
      ["retries", count.format(summary.diagnostics.retries)],
      ["shards added / removed", `${summary.topology.added} / ${summary.topology.removed}`],
    ],
    [
      "final-produced",
      "final-ingested",
      "final-dispatched",
      "final-dropped",
      "final-uncertain",
      "final-rejected",
      "final-batches",
      "final-readback",
      "final-sessions",
      "final-retries",
      "final-scaling",
    ],
  );
  const verdict = $("verdict");
  verdict.hidden = false;
  verdict.textContent = `${summary.verdict} · ${summary.cleanup}`;
  verdict.className = `verdict ${summary.ok ? "ok" : "bad"}`;
  setStatus(summary.ok ? "done: OK" : "done: FAIL", summary.ok ? "pill-ok" : "pill-bad");
}

function showConfig(state) {
  $("title").textContent = state.title;
  if (state.config) $("backend").textContent = `${state.config.adapter}: ${state.config.backend}`;
}

function connect() {
  const source = new EventSource("/events");
  source.addEventListener("init", (message) => {
    const state = JSON.parse(message.data);
    // A reconnect sends the whole history again: start from scratch.
    Object.assign(data, {
      xs: [],
      shardIds: [],
      perShard: new Map(),
      timeline: [],
      last: null,
      summary: null,
    });
    for (const key of ["batch", "latency", "consumer", "losses", "shards", "replication"]) {
      for (const field of Object.keys(data[key])) data[key][field] = [];
    }
    showConfig(state);
    for (const sample of state.history) add(sample);
    buildCharts();
    redraw();
    if (state.summary) showSummary(state.summary);
    if (state.failure) setStatus(`failed: ${state.failure}`, "pill-bad");
  });
  source.addEventListener("config", (message) => {
    $("backend").textContent = (({ adapter, backend }) => `${adapter}: ${backend}`)(JSON.parse(message.data));
  });
  source.addEventListener("sample", (message) => {
    if (add(JSON.parse(message.data))) rebuildShards = true;
    redraw();
  });
  source.addEventListener("summary", (message) => {
    showSummary(JSON.parse(message.data));
    redraw();
  });
  source.addEventListener("failure", (message) =>
    setStatus(`failed: ${JSON.parse(message.data)}`, "pill-bad"),
  );
  source.onerror = () => {
    if (data.summary === null) setStatus("disconnected: retrying", "pill-wait");
  };
}

window.addEventListener("resize", () => {
  for (const id of Object.keys(charts))
    charts[id].setSize({ width: $(id).clientWidth, height: charts[id].height });
});
connect();
