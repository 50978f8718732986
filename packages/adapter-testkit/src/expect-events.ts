import type { StoredEvent } from "@netmesh/core/adapter";
import type { ResolvedFeatures } from "./options.js";
import { show } from "./show.js";
import type { ExpectedEvent } from "./test-batch.js";

/** A readable excerpt of `text` around `index`, escaped so invisible characters show. */
function excerpt(text: string, index: number): string {
  const start = Math.max(0, index - 20);
  return `${JSON.stringify(text.slice(start, index + 20))} (length ${text.length})`;
}

/**
 * Fails unless `actual === expected`, describing the first difference instead of diffing: events can
 * be a mebibyte long, and a diff of that size helps nobody.
 */
export function expectSameText(actual: unknown, expected: string, what: string): void {
  if (actual === expected) return;
  if (typeof actual !== "string") {
    throw new Error(
      `${what}: field json: read ${show(actual)}, written ${show(expected)}; it must be the string written`,
    );
  }
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  throw new Error(
    `${what}: field json: the text read back differs from the text written at UTF-16 index ${i}\n` +
      `  written: ${excerpt(expected, i)}\n  read:    ${excerpt(actual, i)}\n` +
      `  written (start): ${show(expected)}\n  read (start):    ${show(actual)}`,
  );
}

/** Checks one stored event against what was written: exact JSON text, timestamp, shard, message id. */
export function expectSameEvent(actual: StoredEvent, expected: ExpectedEvent, what: string): void {
  const where = `${what} (shard ${expected.shard}, id ${show(actual.id)}, message ${expected.messageId})`;
  expectSameText(actual.json, expected.json, where);
  const fields = [
    ["timestamp", actual.timestamp, expected.timestamp],
    ["shard", actual.shard, expected.shard],
  ] as const;
  for (const [field, read, written] of fields) {
    if (read !== written)
      throw new Error(`${where}: field ${field}: read ${show(read)}, written ${show(written)}`);
  }
  if (actual.messageId !== undefined && actual.messageId !== expected.messageId) {
    throw new Error(
      `${where}: field messageId: read ${show(actual.messageId)}, written ${show(expected.messageId)}`,
    );
  }
}

/**
 * Checks that a shard's read-back is exactly the events written: same count, and with `ordering`
 * `"shard"` the same order; with `"none"` each written event must appear exactly once (matched by
 * message id when the adapter returns one, by text and timestamp otherwise).
 */
export function expectStoredEvents(
  actual: readonly StoredEvent[],
  expected: readonly ExpectedEvent[],
  features: ResolvedFeatures,
  what: string,
): void {
  if (features.ordering === "shard") {
    if (actual.length !== expected.length) {
      // Say how many first (the usual symptom of a lost or duplicated event), then where they part.
      let i = 0;
      while (i < actual.length && i < expected.length && actual[i]!.json === expected[i]!.json) i++;
      const written =
        expected[i] === undefined
          ? "nothing"
          : `${show(expected[i]!.json)} (message ${expected[i]!.messageId})`;
      const read =
        actual[i] === undefined ? "nothing" : `${show(actual[i]!.json)} (id ${show(actual[i]!.id)})`;
      throw new Error(
        `${what}: ${actual.length} events read back, ${expected.length} written; ` +
          `first difference at event ${i}: written ${written}, read ${read}`,
      );
    }
    for (let i = 0; i < actual.length; i++) expectSameEvent(actual[i]!, expected[i]!, `${what}, event ${i}`);
    return;
  }
  const keyOf = (e: { json: string; timestamp: number; messageId?: string | undefined }, useId: boolean) =>
    useId ? `id:${e.messageId}` : `t:${e.timestamp}:${e.json}`;
  const useId = actual.every((event) => event.messageId !== undefined);
  const pending = new Map<string, ExpectedEvent>();
  for (const event of expected) pending.set(keyOf(event, useId), event);
  for (const [i, event] of actual.entries()) {
    const key = keyOf(event, useId);
    const match = pending.get(key);
    if (match === undefined) {
      throw new Error(
        `${what}: event ${i} read back (id ${show(event.id)}, message ${show(event.messageId)}, json ${show(event.json)}) is unknown or repeated`,
      );
    }
    expectSameEvent(event, match, `${what}, event ${i}`);
    pending.delete(key);
  }
  const [missing] = pending.values();
  if (missing !== undefined) {
    throw new Error(`${what}: ${pending.size} events written were not read back, e.g. ${missing.messageId}`);
  }
}
