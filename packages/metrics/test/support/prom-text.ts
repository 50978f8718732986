/** A small parser of Prometheus text exposition (0.0.4), so tests check what a scraper really reads. */

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: its HELP and TYPE lines and the samples after them. */
export interface Family {
  readonly name: string;
  help: string;
  type: string;
  readonly samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseValue(text: string): number {
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Parses a whole exposition; throws on a line that is neither a comment nor a well-formed sample. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  const family = (name: string) => {
    let found = families.get(name);
    if (found === undefined) {
      found = { name, help: "", type: "untyped", samples: [] };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split("\n")) {
    if (line === "" || line === "# EOF") continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      current = family(meta[2]!);
      if (meta[1] === "HELP") current.help = meta[3]!;
      else current.type = meta[3]!;
      continue;
    }
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const [, name, labelText = "", value] = match;
    const labels: Record<string, string> = {};
    for (const [, key, raw] of labelText.matchAll(LABEL)) labels[key!] = unescapeLabel(raw!);
    if (current === undefined || !name!.startsWith(current.name)) {
      throw new Error(`sample ${name} outside its family`);
    }
    current.samples.push({ name: name!, labels, value: parseValue(value!) });
  }
  return families;
}

/** The samples of `family` named `name` (default: the family name) whose labels include `labels`. */
export function samplesOf(
  families: Map<string, Family>,
  family: string,
  labels: Readonly<Record<string, string>> = {},
  name = family,
): Sample[] {
  const found = families.get(family);
  if (found === undefined) throw new Error(`no family ${family} in the scrape`);
  return found.samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The one sample matching; throws when there are none or several. */
export function sampleValue(
  families: Map<string, Family>,
  family: string,
  labels: Readonly<Record<string, string>> = {},
  name = family,
): number {
  const found = samplesOf(families, family, labels, name);
  if (found.length !== 1) {
    throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}, expected one`);
  }
  return found[0]!.value;
}
