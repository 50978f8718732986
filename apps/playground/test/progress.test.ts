import { describe, expect, it } from "vitest";
import { ProgressLine } from "../src/progress.js";

function fakeOutput(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, out: { isTTY, write: (text: string) => writes.push(text) } };
}

describe("ProgressLine", () => {
  it("prints plain lines, with the rate since the previous tick, when not on a TTY", () => {
    const { writes, out } = fakeOutput(false);
    let now = 0;
    let ingested = 0;
    const line = new ProgressLine(out, 60_000, () => now);
    line.phase("ingest", () => ({ ingested, dispatched: ingested - 500, pending: 500 }));
    now = 250;
    ingested = 100_000;
    line.tick();
    now = 500;
    ingested = 150_000;
    line.tick();
    line.stop();
    expect(writes).toEqual([
      "[ingest]     ingested 100,000  400,000 ev/s  pending 500  dispatched 99,500\n",
      "[ingest]     ingested 150,000  200,000 ev/s  pending 500  dispatched 149,500\n",
    ]);
  });

  it("rewrites one line on a TTY and clears it when stopped", () => {
    const { writes, out } = fakeOutput(true);
    let now = 0;
    let done = 0;
    const line = new ProgressLine(out, 60_000, () => now);
    line.phase("read-back", () => ({
      ingested: 10,
      dispatched: 10,
      pending: 0,
      readBack: { done, total: 10 },
    }));
    now = 1000;
    done = 4;
    line.tick();
    line.stop();
    expect(writes).toEqual(["\r[read-back]  read 4 / 10 events  4 ev/s\x1b[K", "\r\x1b[K"]);
  });

  it("ticks on its own timer", async () => {
    const { writes, out } = fakeOutput(false);
    const line = new ProgressLine(out, 10);
    line.phase("ingest", () => ({ ingested: 1, dispatched: 1, pending: 0 }));
    await new Promise((resolve) => setTimeout(resolve, 60));
    line.stop();
    const count = writes.length;
    expect(count).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(writes).toHaveLength(count);
  });
});
