import { existsSync, mkdirSync, statSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

/** Debian's Chromium; the test drives it with playwright-core (no browser download). */
const CHROMIUM = "/usr/bin/chromium";
/** As root on a closed network: no sandbox, and none of Chromium's background connections. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const HERE = dirname(fileURLToPath(import.meta.url));
const SCREENSHOT = join(HERE, "..", "test-results", "dashboard.png");
/** With PLAYGROUND_README_IMAGE=1 the screenshot also becomes the README's image. */
const README_IMAGE = join(HERE, "..", "docs", "dashboard.png");

/** The run the page shows: a burst on Redis, paced so that it lasts a few seconds. */
const ARGV = [
  "--adapter",
  "redis",
  "--replica",
  "--scenario",
  "burst",
  "--sessions",
  "150",
  "--events",
  "120k",
  "--rate",
  "12k",
  "--dashboard",
  "--quiet",
];

/** A figure of the text report: the first count after `label` at the start of an indented line. */
function reported(report: string, label: string): string {
  const match = new RegExp(`^  ${label} +([\\d,]+)`, "m").exec(report);
  if (match === null) throw new Error(`no "${label}" line in the report:\n${report}`);
  return match[1]!;
}

describe("the dashboard in a real browser", () => {
  it("updates its charts while the run goes and ends showing the text report's exact counts", async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: the repository's test set-up step installs Debian's chromium ` +
          "(apt-get update && apt-get install -y chromium), as it installs redis-server and nats-server. " +
          "Run that step (or the command) first; this test does not skip.",
      );
    }
    const dismiss = new AbortController();
    const output: string[] = [];
    let announced: (url: string) => void = () => {};
    const address = new Promise<string>((resolve) => {
      announced = resolve;
    });
    const exit = main(ARGV, {
      stdout: { write: (text: string) => output.push(text) },
      stderr: { write: () => true },
      dismiss: dismiss.signal,
      onDashboard: (url) => announced(url),
    });
    const url = await Promise.race([
      address,
      exit.then((code) => Promise.reject(new Error(`exited ${code}`))),
    ]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      await page.goto(url);
      type Reading = { points: number; ingested: number; phase: string; kpi: string };
      // One evaluate: the chart, the data and the figure card are read at the same instant.
      const read = () =>
        page.evaluate((): Reading => {
          const board = (globalThis as unknown as { __dashboard: DashboardHandle }).__dashboard;
          const card = (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById("k-ingested");
          return {
            points: board.charts["c-ingest"]!.data[0]!.length,
            ingested: board.data.last?.totals.ingested ?? 0,
            phase: board.data.last?.phase ?? "",
            kpi: card?.textContent ?? "",
          };
        });
      await page.waitForFunction(
        () =>
          ((globalThis as unknown as { __dashboard?: DashboardHandle }).__dashboard?.data.last?.totals
            .ingested ?? 0) > 0,
        null,
        { timeout: 30_000 },
      );
      const first = await read();
      expect(first.phase).toBe("ingest");
      await page.waitForTimeout(1_500);
      const second = await read();
      // The charts and the figures moved between the two reads.
      expect(second.points).toBeGreaterThan(first.points);
      expect(second.ingested).toBeGreaterThan(first.ingested);
      // The card is drawn on the next animation frame after a sample: it moves too, within a few frames.
      await page.waitForFunction(
        (before) =>
          (globalThis as unknown as { document: { getElementById(id: string): { textContent: string | null } | null } }).document.getElementById("k-ingested")?.textContent !== before,
        first.kpi,
        { timeout: 10_000 },
      );

      await page.waitForFunction(
        () => (globalThis as unknown as { __dashboard: DashboardHandle }).__dashboard.summary() !== null,
        null,
        { timeout: 90_000 },
      );
      await page.waitForTimeout(300); // one animation frame for the final draw
      const report = output.join("");
      expect(report).toMatch(/\nOK: every accepted event came back \([\d,]+ events\)\n$/);
      const cell = (id: string) => page.locator(`[data-testid="final-${id}"]`).textContent();
      const expected: [string, string][] = [
        ["produced", reported(report, "produced")],
        ["ingested", reported(report, "ingested")],
        ["dispatched", reported(report, "dispatched")],
        ["dropped", reported(report, "dropped")],
        ["uncertain", reported(report, "uncertain")],
        ["rejected", reported(report, "rejected")],
        ["batches", reported(report, "batches")],
        ["readback", reported(report, "read back")],
      ];
      for (const [id, figure] of expected) expect(await cell(id), id).toBe(figure);
      expect(await page.locator("#k-ingested").textContent()).toBe(reported(report, "ingested"));
      expect(await page.locator("#k-dispatched").textContent()).toBe(reported(report, "dispatched"));
      expect(await page.locator('[data-testid="status"]').textContent()).toBe("done: OK");
      // The burst shows both of its effects on the page, with the report's counts.
      const scaling = /scaling +(\d+) added/.exec(report)?.[1];
      expect(Number(scaling)).toBeGreaterThan(0);
      expect(await cell("scaling")).toMatch(new RegExp(`^${scaling} / \\d+$`));
      const engaged = /backpressure +([\d,]+) engaged/.exec(report)?.[1];
      expect(await page.locator("#k-backpressure").textContent()).toBe(`${engaged}×`);
      // The replica's lag, measured by @netmesh/replication-metrics, reached the page.
      const lags = await page.evaluate(() =>
        (globalThis as unknown as { __dashboard: DashboardHandle }).__dashboard.data.replication.lag.filter(
          (lag) => lag !== null,
        ),
      );
      expect(lags.length).toBeGreaterThan(0);
      expect(report).toMatch(/\nReplication \(@netmesh\/replication-metrics\): replica lag /);
      // The page is fed by @netmesh/metrics too: its scrape agrees.
      const scrape = await (await fetch(`${url}metrics`)).text();
      expect(scrape).toContain(
        `netmesh_events_ingested_total ${reported(report, "ingested").replaceAll(",", "")}\n`,
      );

      mkdirSync(dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(statSync(SCREENSHOT).size).toBeGreaterThan(50_000);
      if (process.env.PLAYGROUND_README_IMAGE === "1") {
        mkdirSync(dirname(README_IMAGE), { recursive: true });
        copyFileSync(SCREENSHOT, README_IMAGE);
      }
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      dismiss.abort();
    }
    // Dismissed, the dashboard stops and the CLI exits with the run's verdict.
    expect(await exit).toBe(0);
  }, 150_000);
});

/** What the page exposes on `window.__dashboard` (see dashboard/app.js). */
interface DashboardHandle {
  charts: Record<string, { data: number[][] }>;
  data: {
    last: { phase: string; totals: { ingested: number } } | null;
    replication: { lag: (number | null)[] };
  };
  summary(): unknown;
}
