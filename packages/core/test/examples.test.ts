import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it, vi } from "vitest";

const readmes = {
  "the repository README": new URL("../../../README.md", import.meta.url),
  "the package README": new URL("../README.md", import.meta.url),
};
const quickStart = new URL("../examples/quick-start.ts", import.meta.url);

describe("the README's usage example", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(Object.entries(readmes))("is quoted verbatim by %s", async (_, readme) => {
    const [text, example] = await Promise.all([readFile(readme, "utf8"), readFile(quickStart, "utf8")]);
    expect(text).toContain(example.trim());
  });

  it("is plain JavaScript that this Node parses (no types, no `await using`)", async () => {
    const example = await readFile(quickStart, "utf8");
    const check = spawnSync(process.execPath, ["--check", "--input-type=module"], {
      input: example,
      encoding: "utf8",
    });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
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
