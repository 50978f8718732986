import { TransientError } from "@netmesh/core/adapter";

/**
 * Settles like `work`, unless `ms` pass first or `signal` aborts: then it rejects with a
 * `TransientError` (retryable: the bus tries the batch again, and dedup makes that safe even though the
 * abandoned command may still run on the server). A late settlement of `work` is swallowed, never
 * reported as an unhandled rejection.
 */
export function bounded<T>(work: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      if (settled) return;
      finish();
      reject(new TransientError(`redis ${what}: aborted by the caller`, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      if (settled) return;
      finish();
      reject(new TransientError(`redis ${what}: no reply within ${ms} ms`));
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        if (settled) return;
        finish();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        finish();
        reject(error);
      },
    );
  });
}
