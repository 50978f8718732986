import { readFileSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { collectBusMetrics } from "@netmesh/metrics";
import { Registry } from "prom-client";
import type { LiveRun } from "../run.js";
import type { PlaygroundSummary } from "../summary.js";
import { type Sample, Sampler } from "./sampler.js";

/** A running dashboard. */
export interface Dashboard {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Starts sampling a run (called once the bus runs). */
  attach(run: LiveRun): void;
  /** Shows the final state: the last sample and the summary (the text report's figures). */
  finish(summary: PlaygroundSummary): void;
  /** Shows that the run failed before it could report. */
  fail(message: string): void;
  /** Ends the event streams and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Sampling period, ms. Default 250. */
  readonly intervalMs?: number;
  /** Shown in the page's header. */
  readonly title: string;
}

/** Most samples kept for a page opened late (at 4 a second: 20 minutes). */
const MAX_HISTORY = 4_800;
const KEEP_ALIVE_MS = 15_000;

/** The page's own files: `apps/playground/dashboard/`, beside `src/` and `dist/`. */
const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dashboard");

function pageDir(): string {
  // From dist/cli.js the bundle sits one level down; from src/dashboard/server.ts two.
  const fromDist = join(dirname(fileURLToPath(import.meta.url)), "..", "dashboard");
  try {
    readFileSync(join(fromDist, "index.html"));
    return fromDist;
  } catch {
    return PAGE_DIR;
  }
}

/** uPlot's files, served from node_modules (no CDN: the page works offline). */
function uplotDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("uplot")), "..", "dist");
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/**
 * Serves the live dashboard on 127.0.0.1: the page (`/`, plain HTML, CSS and script, charts drawn with
 * uPlot), `/events` (Server-Sent Events: `init` with the history, then a `sample` per tick and
 * `summary` at the end), `/state.json` (the same as one document) and `/metrics` (the bus's
 * Prometheus metrics from `@netmesh/metrics`).
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const dir = pageDir();
  const uplot = uplotDir();
  const files = new Map<string, { type: string; body: Buffer }>();
  for (const [route, path] of [
    ["/", join(dir, "index.html")],
    ["/app.js", join(dir, "app.js")],
    ["/style.css", join(dir, "style.css")],
    ["/uplot/uPlot.iife.min.js", join(uplot, "uPlot.iife.min.js")],
    ["/uplot/uPlot.min.css", join(uplot, "uPlot.min.css")],
  ] as const) {
    files.set(route, { type: TYPES[path.slice(path.lastIndexOf("."))]!, body: readFileSync(path) });
  }

  const history: Sample[] = [];
  const clients = new Set<ServerResponse>();
  let summary: PlaygroundSummary | undefined;
  let failure: string | undefined;
  let sampler: Sampler | undefined;
  let run: LiveRun | undefined;
  const registry = new Registry();
  let metrics: { stop(): void } | undefined;

  const send = (event: string, data: unknown) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of clients) client.write(text);
  };
  const state = () => ({
    title: options.title,
    config: run === undefined ? null : { adapter: run.backend.name, backend: run.backend.description },
    history,
    summary: summary ?? null,
    failure: failure ?? null,
  });

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? "/").split("?")[0]!;
    if (path === "/events") {
      response.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      response.write(`retry: 1000\nevent: init\ndata: ${JSON.stringify(state())}\n\n`);
      clients.add(response);
      request.once("close", () => clients.delete(response));
      return;
    }
    if (path === "/state.json") {
      response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(JSON.stringify(state()));
      return;
    }
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => {
          response.writeHead(200, { "content-type": registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          response.writeHead(500, { "content-type": "text/plain" });
          response.end(String(error));
        },
      );
      return;
    }
    if (path === "/favicon.ico") {
      response.writeHead(204);
      response.end();
      return;
    }
    const file = files.get(path);
    if (file === undefined || request.method !== "GET") {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found\n");
      return;
    }
    response.writeHead(200, { "content-type": file.type, "cache-control": "no-store" });
    response.end(file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const keepAlive = setInterval(() => {
    for (const client of clients) client.write(": keep-alive\n\n");
  }, KEEP_ALIVE_MS);
  keepAlive.unref();

  let closed = false;
  return {
    url: `http://127.0.0.1:${port}/`,
    attach(live) {
      run = live;
      metrics = collectBusMetrics(live.bus, { registry });
      send("config", state().config);
      sampler = new Sampler(
        live,
        (sample) => {
          history.push(sample);
          if (history.length > MAX_HISTORY) history.splice(0, history.length - MAX_HISTORY);
          send("sample", sample);
        },
        options.intervalMs,
      );
      sampler.start();
    },
    finish(final) {
      sampler?.stop();
      summary = final;
      send("summary", final);
    },
    fail(message) {
      sampler?.stop();
      failure = message;
      send("failure", message);
    },
    async close() {
      if (closed) return;
      closed = true;
      sampler?.stop();
      metrics?.stop();
      clearInterval(keepAlive);
      for (const client of clients) client.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
