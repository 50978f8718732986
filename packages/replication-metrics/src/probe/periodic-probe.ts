import { InvalidOptionsError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import { BoundedCalls, FailureLog } from "./bounded-calls.js";

/** Timing and logging options every probe takes. */
export interface ProbeTimingOptions {
  /** Pause between the end of one tick and the start of the next, in ms. Default 5,000. */
  readonly intervalMs?: number;
  /** Bound on each backend call, in ms. Default 2,000. */
  readonly callTimeoutMs?: number;
  /** Where failures go (pino-compatible, errors under `err`). Default: silent. */
  readonly logger?: Logger;
  /** A leader change within this many ms of the previous one counts as election thrash. Default 30,000. */
  readonly thrashWindowMs?: number;
}

/** setTimeout's limit: a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration option: a finite number of ms in [1, 2^31 − 1], or the fallback when absent. */
export function durationOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 1 || value > MAX_TIMER_MS) {
    throw new InvalidOptionsError(
      `${name} must be a number of ms in [1, ${MAX_TIMER_MS}], got ${String(value)}`,
    );
  }
  return value;
}

/**
 * The life cycle every probe shares: ticks on an `unref`'d timer (it never keeps the process alive),
 * never two ticks at once, each backend call bounded, nothing thrown to the caller.
 *
 * The timer is a chain of `setTimeout`s re-armed after each tick ends, so a slow tick delays the next
 * one instead of piling up behind it; a timer firing while {@link probeOnce} runs skips its turn.
 */
export abstract class PeriodicProbe {
  /** Pause between ticks, ms. */
  readonly intervalMs: number;
  /** Bound on each election-thrash window, ms. */
  protected readonly thrashWindowMs: number;
  protected readonly logger: Logger;
  protected readonly calls: BoundedCalls;
  protected readonly failures: FailureLog;
  #state: "idle" | "running" | "stopped" = "idle";
  #timer: NodeJS.Timeout | undefined;
  #tail: Promise<void> = Promise.resolve();
  #busy = false;
  #stopping: Promise<void> | undefined;
  #ticks = 0;

  /** `kind` names the probe in log lines (`probe: kind`). */
  protected constructor(
    protected readonly kind: string,
    options: ProbeTimingOptions,
  ) {
    this.intervalMs = durationOption("intervalMs", options.intervalMs, 5_000);
    this.thrashWindowMs = durationOption("thrashWindowMs", options.thrashWindowMs, 30_000);
    this.calls = new BoundedCalls(durationOption("callTimeoutMs", options.callTimeoutMs, 2_000));
    this.logger = options.logger ?? silentLogger;
    this.failures = new FailureLog(this.logger, kind);
  }

  /** Ticks completed so far (a tick whose backend calls failed still counts). */
  get ticks(): number {
    return this.#ticks;
  }

  /**
   * Starts ticking: a first tick at once (so the first scrape already has figures), then one every
   * {@link intervalMs} after the previous one ends. Idempotent; returns `this`.
   */
  start(): this {
    if (this.#state === "idle") {
      this.#state = "running";
      void this.probeOnce().then(() => {
        if (this.#state === "running" && this.#timer === undefined) this.#arm();
      });
    }
    return this;
  }

  /**
   * Runs one tick now and resolves when it is done; one already running finishes first. Never
   * rejects. After {@link stop} it resolves without probing.
   */
  probeOnce(): Promise<void> {
    if (this.#state === "stopped") return Promise.resolve();
    const run = this.#tail.then(() => this.#tick());
    this.#tail = run;
    return run;
  }

  /**
   * Stops the timer, waits for a tick in progress (bounded by the call timeouts), and closes the
   * connections the probe opened itself; the caller's clients stay open. Idempotent.
   */
  stop(): Promise<void> {
    if (this.#stopping === undefined) {
      this.#state = "stopped";
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#stopping = this.#tail.then(() =>
        this.release().catch((err: unknown) =>
          this.logger.warn({ err, probe: this.kind }, "closing the probe's connections failed"),
        ),
      );
    }
    return this.#stopping;
  }

  /** Same as {@link stop}: the name the `@netmesh` bus and adapters use. */
  shutdown(): Promise<void> {
    return this.stop();
  }

  /** `await using probe = …` stops it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** One round of backend calls and metric updates. Failures of single calls are handled inside. */
  protected abstract tick(): Promise<void>;

  /** Closes what the probe opened itself. */
  protected abstract release(): Promise<void>;

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state !== "running") return;
      if (this.#busy) {
        this.#arm();
        return;
      }
      void this.probeOnce().then(() => {
        if (this.#state === "running") this.#arm();
      });
    }, this.intervalMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#busy = true;
    try {
      await this.tick();
    } catch (err) {
      // Backend failures are caught per call; reaching here is a bug, and still not the caller's problem.
      this.logger.error({ err, probe: this.kind }, "replication probe tick failed");
    } finally {
      this.#busy = false;
      this.#ticks++;
    }
  }
}
