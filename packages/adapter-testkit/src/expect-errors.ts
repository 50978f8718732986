import { type AdapterError, type AdapterErrorKind, isAdapterError } from "@netmesh/core/adapter";

/** What a rejection must look like. */
export interface ExpectedRejection {
  /** The exact kind required, e.g. `"shutdown"`; any kind when omitted. */
  readonly kind?: AdapterErrorKind;
  /** Whether the bus may retry after it (`AdapterError.isRetryable`). */
  readonly retryable: boolean;
}

function summarize(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  return `${typeof value} ${String(value)}`;
}

/**
 * Calls `call` and expects it to return a promise that rejects with an {@link AdapterError} of the
 * required classification. A synchronous throw fails too: every adapter method is declared to return a
 * promise, and callers chain `.catch` on it. Resolves with the error for further checks.
 */
export async function expectAdapterRejection(
  call: () => Promise<unknown>,
  expected: ExpectedRejection,
  what: string,
): Promise<AdapterError> {
  let pending: Promise<unknown>;
  try {
    pending = call();
  } catch (error) {
    throw new Error(`${what}: threw synchronously (${summarize(error)}); it must return a rejected promise`);
  }
  if (typeof (pending as { then?: unknown } | null)?.then !== "function") {
    throw new Error(`${what}: did not return a promise`);
  }
  let outcome:
    | { readonly resolved: true; readonly value: unknown }
    | { readonly resolved: false; readonly error: unknown };
  try {
    outcome = { resolved: true, value: await pending };
  } catch (error) {
    outcome = { resolved: false, error };
  }
  if (outcome.resolved)
    throw new Error(`${what}: resolved (with ${summarize(outcome.value)}) but must reject`);
  const { error } = outcome;
  if (!isAdapterError(error)) {
    throw new Error(`${what}: rejected with ${summarize(error)}, which is not an AdapterError`);
  }
  if (expected.kind !== undefined && error.kind !== expected.kind) {
    throw new Error(
      `${what}: rejected with kind "${error.kind}" (${error.message}); expected "${expected.kind}"`,
    );
  }
  if (error.isRetryable !== expected.retryable) {
    throw new Error(
      `${what}: rejected with kind "${error.kind}", which is ${error.isRetryable ? "" : "not "}retryable; ` +
        `expected a ${expected.retryable ? "retryable" : "non-retryable"} error`,
    );
  }
  return error;
}
