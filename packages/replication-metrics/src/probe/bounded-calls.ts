import { ProbeTimeoutError } from "../errors.js";
import type { Logger } from "../logger.js";

/**
 * Backend calls with a time bound, at most one in flight per target. A call that times out may still
 * be running inside the client (a Redis command to a stopped server stays queued); the next tick's call
 * to that target then fails at once instead of queueing another one behind it, so a dead target costs
 * one pending command, not one per tick.
 */
export class BoundedCalls {
  readonly #pending = new Set<string>();

  /** Calls get `timeoutMs` each. */
  constructor(readonly timeoutMs: number) {}

  /** Runs `work` for `target`, rejecting with {@link ProbeTimeoutError} past the bound. */
  run<T>(target: string, what: string, work: () => Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    if (this.#pending.has(target)) {
      return Promise.reject(
        new ProbeTimeoutError(`${what} (the previous call is still unanswered)`, timeoutMs),
      );
    }
    this.#pending.add(target);
    const call = Promise.resolve().then(work);
    const settle = () => this.#pending.delete(target);
    call.then(settle, settle);
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProbeTimeoutError(what, timeoutMs)), timeoutMs);
      timer.unref();
    });
    return Promise.race([call, expiry]).finally(() => clearTimeout(timer));
  }
}

/**
 * Logs failed calls without flooding: a target's first failure (or a different one) at `warn`, the
 * same failure again at `debug`, and its recovery at `info`. The error goes under `err`.
 */
export class FailureLog {
  readonly #failing = new Map<string, string>();

  /** Lines carry `probe: probe`. */
  constructor(
    private readonly logger: Logger,
    private readonly probe: string,
  ) {}

  /** Reports that a call to `target` failed with `error`. */
  failed(target: string, error: unknown, message: string): void {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const repeated = this.#failing.get(target) === text;
    this.#failing.set(target, text);
    const fields = { err: error, probe: this.probe, target };
    if (repeated) this.logger.debug(fields, message);
    else this.logger.warn(fields, message);
  }

  /** Reports that a call to `target` succeeded (logged only after a failure). */
  succeeded(target: string): void {
    if (this.#failing.delete(target)) {
      this.logger.info({ probe: this.probe, target }, `${target} answers again`);
    }
  }
}
