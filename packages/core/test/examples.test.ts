import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it, vi } from "vitest";

const readme = new URL("../../../README.md", import.meta.url);
const quickStart = new URL("../examples/quick-start.ts", import.meta.url);

describe("the README's usage example", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is the tested file, verbatim", async () => {
    const [text, example] = await Promise.all([readFile(readme, "utf8"), readFile(quickStart, "utf8")]);
    expect(text).toContain(example.trim());
  });

  it("runs and prints what its comments promise", async () => {
    const logged: unknown[] = [];
    vi.spyOn(console, "log").mockImplementation((value: unknown) => {
      logged.push(value);
    });
    await import("../examples/quick-start.js");
    expect(logged).toEqual([
      [
        { type: "token", text: "Hello" },
        { type: "token", text: " world" },
        { type: "guardrail", policy: "pii", verdict: "allow" },
      ],
      { ingested: 3, dispatched: 3, dropped: 0 },
    ]);
  });
});
