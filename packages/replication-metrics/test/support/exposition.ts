/**
 * A strict checker of the Prometheus text exposition format (0.0.4), as the Prometheus server parses
 * it: returns the problems found, so a test can show them.
 *
 * - a line is empty, a comment, `# HELP <name> <text>`, `# TYPE <name> <type>` or a sample
 *   `<name>{<label>="<value>",…} <number>`;
 * - label values only use the escapes `\\`, `\"`, `\n` (and the crate's `\r`, which Prometheus keeps
 *   as the two characters);
 * - each family has at most one HELP and one TYPE, before its samples, and its samples are contiguous;
 * - sample values parse as floats (Prometheus's `Nan`, `+Inf`, `-Inf` included).
 */
export function expositionProblems(text: string): string[] {
  const problems: string[] = [];
  if (text !== "" && !text.endsWith("\n")) problems.push("the text does not end with a newline");
  const help = new Set<string>();
  const type = new Map<string, string>();
  const finished = new Set<string>();
  let current: string | undefined;
  const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const sample = new RegExp(
    `^(${NAME})(?:\\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"nr])*",?)*)\\})? (\\S+)( -?\\d+)?$`,
  );
  const familyOf = (name: string) => {
    if (type.has(name) || help.has(name)) return name;
    for (const suffix of ["_bucket", "_sum", "_count", "_total"]) {
      const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
      if (base !== undefined && type.has(base)) return base;
    }
    return name;
  };
  const enter = (family: string, lineNo: number) => {
    if (family === current) return;
    if (finished.has(family))
      problems.push(`line ${lineNo}: family ${family} appears again after other families`);
    if (current !== undefined) finished.add(current);
    current = family;
  };
  text
    .split("\n")
    .slice(0, -1)
    .forEach((line, i) => {
      const n = i + 1;
      if (line === "") return;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta !== null) {
        const [, kind, name, rest] = meta as unknown as [string, string, string, string];
        if (!new RegExp(`^${NAME}$`).test(name)) problems.push(`line ${n}: bad metric name ${name}`);
        enter(name, n);
        if (kind === "HELP") {
          if (help.has(name)) problems.push(`line ${n}: second HELP for ${name}`);
          help.add(name);
        } else {
          if (type.has(name)) problems.push(`line ${n}: second TYPE for ${name}`);
          if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) {
            problems.push(`line ${n}: bad type ${rest}`);
          }
          type.set(name, rest);
        }
        return;
      }
      if (line.startsWith("#")) return;
      const match = sample.exec(line);
      if (match === null) {
        problems.push(`line ${n}: not a valid sample: ${JSON.stringify(line)}`);
        return;
      }
      const value = match[3]!;
      if (!/^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Nan|NaN|[+-]Inf)$/.test(value)) {
        problems.push(`line ${n}: bad value ${value}`);
      }
      enter(familyOf(match[1]!), n);
    });
  return problems;
}
