import { TransientError } from "../contract/adapter-errors.js";

/** The timers of the bus: one bounded call, one abortable sleep, both on one range-safe timer. */

/** setTimeout's longest delay: Node fires a longer one after 1 ms (with a TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fire` once `ms` have passed; returns the function that cancels it. An infinite `ms` never
 * fires (a shutdown option of `Infinity` means no bound), and a finite one past setTimeout's range is
 * waited out in steps it can take, so no bound ever ends early.
 */
function after(ms: number, fire: () => void): () => void {
  if (ms === Number.POSITIVE_INFINITY) return () => {};
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer =
      left > MAX_TIMER_MS ? setTimeout(() => arm(left - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fire, left);
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/**
 * Runs an adapter lifecycle call (`init`, `flush`, `shutdown`) bounded by `ms` (`Infinity`: unbounded).
 * A timeout rejects with a {@link TransientError} naming the call; a synchronous throw becomes a rejection.
 */
export function withTimeout<T>(what: string, ms: number, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // A deadline's remainder is fractional: the message names whole milliseconds.
    const shown = Math.ceil(ms);
    const cancel = after(ms, () => reject(new TransientError(`${what} timed out after ${shown} ms`)));
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (error) {
      cancel();
      reject(error);
      return;
    }
    Promise.resolve(pending).then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error: unknown) => {
        cancel();
        reject(error);
      },
    );
  });
}

/** Sleeps `ms` (`Infinity`: until aborted); resolves true when the time passed, false (at once) when `signal` aborts first. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      cancel();
      resolve(false);
    };
    const cancel = after(ms, () => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
