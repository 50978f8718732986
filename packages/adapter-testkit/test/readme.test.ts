import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

const here = new URL("../", import.meta.url);
const read = (path: string) => readFile(new URL(path, here), "utf8");

/** The rule list of the `Adapter` TSDoc in core, as plain Markdown (`{@link X}` shown as `X`). */
async function contractRules(): Promise<string> {
  const source = await read("../core/src/contract/adapter.ts");
  const start = source.indexOf(" * Rules an adapter must honour:");
  const end = source.indexOf(" */", start);
  return source
    .slice(start, end)
    .split("\n")
    .slice(1)
    .map((line) => line.replace(/^ \* ?/, ""))
    .join("\n")
    .replace(/\{@link (\w+)\}/g, "`$1`")
    .trim();
}

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

  it("states the contract's rules in the contract's own words", async () => {
    const [readme, rules] = await Promise.all([read("README.md"), contractRules()]);
    const quoted = /<!-- rules:start -->\n([\s\S]*?)\n<!-- rules:end -->/.exec(readme)?.[1];
    expect(rules.split("\n").filter((line) => /^\d+\. /.test(line))).toHaveLength(12);
    expect(quoted).toBe(rules);
  });

  it("shows install lines with the real version of core", async () => {
    const [readme, core] = await Promise.all([read("README.md"), read("../core/package.json")]);
    const { version } = JSON.parse(core) as { version: string };
    const ranges = [...readme.matchAll(/"@netmesh\/[a-z-]+": "\^([^"]+)"/g)].map((match) => match[1]);
    expect(ranges.length).toBeGreaterThan(0);
    for (const range of ranges) expect(range).toBe(version);
  });

  it("lists every case the suite has", async () => {
    const { conformanceCases } = await import("../src/index.js");
    const readme = await read("README.md");
    for (const { id } of conformanceCases({ name: "readme", create: () => expect.fail("not run") })) {
      const row = new RegExp(`^\\|\\s*\`${id.replace(".", "\\.")}\`\\s*\\|`, "m");
      expect(readme, `case ${id} is not documented`).toMatch(row);
    }
  });
});
