import { TransientError } from "../contract/adapter-errors.js";

/** The timers of the bus: one bounded call, one abortable sleep. */

/**
 * Runs an adapter lifecycle call (`init`, `flush`, `shutdown`) bounded by `ms`. A timeout rejects with a
 * {@link TransientError} naming the call; a synchronous throw becomes a rejection.
 */
export function withTimeout<T>(what: string, ms: number, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // A deadline's remainder is fractional: the message names whole milliseconds.
    const shown = Math.ceil(ms);
    const timer = setTimeout(() => reject(new TransientError(`${what} timed out after ${shown} ms`)), ms);
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      clearTimeout(timer);
      reject(error);
      return;
    }
    Promise.resolve(pending).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Sleeps `ms`; resolves true when the time passed, false (at once) when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
