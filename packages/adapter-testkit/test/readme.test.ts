import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

const here = new URL("../", import.meta.url);
const read = (path: string) => readFile(new URL(path, here), "utf8");

// The guide's code is the tested code: the README must show the example files verbatim, so the page
// can never drift from what `examples/file-adapter.test.ts` runs through the suite.
describe("README", () => {
  it.each(["examples/file-adapter.ts", "examples/file-adapter.test.ts"])(
    "contains %s verbatim",
    async (path) => {
      const [readme, source] = await Promise.all([read("README.md"), read(path)]);
      expect(readme.includes(`\`\`\`ts\n${source}\`\`\``), `${path} is not in the README as it is`).toBe(
        true,
      );
    },
  );

  it("lists every case the suite has", async () => {
    const { conformanceCases } = await import("../src/index.js");
    const readme = await read("README.md");
    for (const { id } of conformanceCases({ name: "readme", create: () => expect.fail("not run") })) {
      const row = new RegExp(`^\\|\\s*\`${id.replace(".", "\\.")}\`\\s*\\|`, "m");
      expect(readme, `case ${id} is not documented`).toMatch(row);
    }
  });
});
