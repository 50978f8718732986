import { TransientError } from "./contract/adapter-errors.js";

/**
 * Runs an adapter lifecycle call (`init`, `flush`, `shutdown`) bounded by `ms`. A timeout rejects with a
 * {@link TransientError} naming the call; a synchronous throw becomes a rejection.
 */
export function withTimeout<T>(what: string, ms: number, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TransientError(`${what} timed out after ${ms} ms`)), ms);
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
