import { InvalidFilterError } from "../errors.js";

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A filter over events, in JSON form (so it can travel over the wire):
 * - `{ "$and": [F, …] }`: all match (an empty list matches nothing);
 * - `{ "$or": [F, …] }`: any matches (an empty list matches nothing);
 * - `{ "$not": F }`;
 * - `{ "$eq": { "path": "a.b.0", "value": V } }` or the shorthand `{ "path": "a.b.0", "value": V }`:
 *   the value at the dot path equals `V` exactly (JSON equality; numbers compare as JavaScript
 *   numbers, so `1` equals `1.0`). Path segments walk object keys and array indexes; the empty path is the
 *   event itself; a missing field never matches.
 */
export type Filter =
  | { readonly $and: readonly Filter[] }
  | { readonly $or: readonly Filter[] }
  | { readonly $not: Filter }
  | { readonly $eq: { readonly path: string; readonly value: JsonValue } }
  | { readonly path: string; readonly value: JsonValue };

/** A filter compiled once for many events. */
export interface CompiledFilter {
  /** Whether a parsed event matches. Never throws. */
  matches(event: unknown): boolean;
}

/** Limits that make hostile filters fail validation instead of exhausting the stack or the CPU. */
export const FILTER_LIMITS = Object.freeze({ depth: 64, nodes: 1_000, pathSegments: 64, valueDepth: 64 });

type Node =
  | { kind: "and" | "or"; children: Node[] }
  | { kind: "not"; child: Node }
  | { kind: "eq"; path: readonly (string | number)[]; value: JsonValue };

const INDEX = /^(0|[1-9]\d{0,8})$/;
const OPERATORS = ["$and", "$or", "$not", "$eq"] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  // Dates, Maps, Sets, typed arrays and class instances are objects but not JSON objects.
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Depth of a JSON value, measured without recursion; rejects non-JSON values. */
function checkValue(value: unknown): JsonValue {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (depth > FILTER_LIMITS.valueDepth)
      throw new InvalidFilterError(`value nested deeper than ${FILTER_LIMITS.valueDepth}`);
    if (current === null || typeof current === "string" || typeof current === "boolean") continue;
    if (typeof current === "number") {
      if (!Number.isFinite(current)) throw new InvalidFilterError("value contains a non-finite number");
      continue;
    }
    if (Array.isArray(current)) {
      for (const item of current) stack.push([item, depth + 1]);
      continue;
    }
    if (isPlainObject(current)) {
      for (const item of Object.values(current)) stack.push([item, depth + 1]);
      continue;
    }
    const what = typeof current === "object" ? (current.constructor?.name ?? "object") : typeof current;
    throw new InvalidFilterError(`value contains a ${what}, which is not JSON`);
  }
  return value as JsonValue;
}

function compilePath(path: unknown): (string | number)[] {
  if (typeof path !== "string") throw new InvalidFilterError("path must be a string");
  if (path === "") return [];
  const segments = path.split(".");
  if (segments.length > FILTER_LIMITS.pathSegments)
    throw new InvalidFilterError("path has too many segments");
  return segments.map((segment) => (INDEX.test(segment) ? Number(segment) : segment));
}

function parse(spec: unknown, depth: number, budget: { nodes: number }): Node {
  if (depth > FILTER_LIMITS.depth) throw new InvalidFilterError(`nested deeper than ${FILTER_LIMITS.depth}`);
  if (++budget.nodes > FILTER_LIMITS.nodes)
    throw new InvalidFilterError(`more than ${FILTER_LIMITS.nodes} nodes`);
  if (!isPlainObject(spec)) throw new InvalidFilterError("each filter must be an object");
  const keys = Object.keys(spec);
  const operator = OPERATORS.find((op) => keys.includes(op));
  if (operator !== undefined) {
    if (keys.length !== 1) throw new InvalidFilterError(`${operator} must be the only key of its object`);
    const operand = spec[operator];
    if (operator === "$and" || operator === "$or") {
      if (!Array.isArray(operand)) throw new InvalidFilterError(`${operator} takes an array`);
      return {
        kind: operator === "$and" ? "and" : "or",
        children: operand.map((f) => parse(f, depth + 1, budget)),
      };
    }
    if (operator === "$not") return { kind: "not", child: parse(operand, depth + 1, budget) };
    return parseEquality(operand);
  }
  return parseEquality(spec);
}

function parseEquality(spec: unknown): Node {
  if (!isPlainObject(spec) || Object.keys(spec).length !== 2 || !("path" in spec) || !("value" in spec)) {
    throw new InvalidFilterError("an equality is { path, value } (or { $eq: { path, value } })");
  }
  return { kind: "eq", path: compilePath(spec.path), value: checkValue(spec.value) };
}

function at(event: unknown, path: readonly (string | number)[]): { found: boolean; value: unknown } {
  let current = event;
  for (const segment of path) {
    if (Array.isArray(current)) {
      if (typeof segment !== "number" || segment >= current.length) return { found: false, value: undefined };
      current = current[segment];
    } else if (isPlainObject(current)) {
      const key = String(segment);
      if (!Object.hasOwn(current, key)) return { found: false, value: undefined };
      current = current[key];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value: current };
}

/** Exact JSON equality (the filter value's depth is bounded, which bounds the recursion). */
function jsonEquals(a: unknown, b: JsonValue): boolean {
  if (b === null || typeof b !== "object") return a === b;
  if (Array.isArray(b)) {
    if (!Array.isArray(a) || a.length !== b.length) return false;
    for (let i = 0; i < b.length; i++) if (!jsonEquals(a[i], b[i]!)) return false;
    return true;
  }
  if (!isPlainObject(a)) return false;
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  for (const key of keys) if (!Object.hasOwn(a, key) || !jsonEquals(a[key], b[key]!)) return false;
  return true;
}

function evaluate(node: Node, event: unknown): boolean {
  switch (node.kind) {
    case "and":
      return node.children.length > 0 && node.children.every((child) => evaluate(child, event));
    case "or":
      return node.children.some((child) => evaluate(child, event));
    case "not":
      return !evaluate(node.child, event);
    case "eq": {
      const { found, value } = at(event, node.path);
      return found && jsonEquals(value, node.value);
    }
  }
}

/**
 * Validates and compiles a filter (an object, or its JSON text). Throws {@link InvalidFilterError} for
 * anything malformed or beyond {@link FILTER_LIMITS}; the compiled filter itself never throws.
 */
export function compileFilter(spec: Filter | string): CompiledFilter {
  let parsed: unknown = spec;
  if (typeof spec === "string") {
    try {
      parsed = JSON.parse(spec);
    } catch {
      throw new InvalidFilterError("not valid JSON");
    }
  }
  const root = parse(parsed, 1, { nodes: 0 });
  return { matches: (event) => evaluate(root, event) };
}
