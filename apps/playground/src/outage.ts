import { setTimeout as sleep } from "node:timers/promises";
import type { LocalServer } from "./backends/local-server.js";
import type { DiagnosticsTap } from "./diagnostics-tap.js";

/** What the outage scenario did, for the report. */
export interface OutageFigures {
  readonly program: string;
  /** When the server was killed and when it answered again, ms since the run started. */
  readonly downAtMs: number;
  readonly upAtMs: number;
  /** Events produced when it was killed. */
  readonly atEvent: number;
}

/**
 * Kills the playground's own server once production has passed `atEvent` events and starts it again
 * `downMs` later, noting both on the timeline. Production goes on meanwhile: the rings fill, producers
 * wait (block backpressure), batches fail and are retried until the server is back.
 */
export class Outage {
  private running: Promise<OutageFigures> | undefined;

  constructor(
    private readonly server: LocalServer,
    private readonly atEvent: number,
    private readonly downMs: number,
    private readonly tap: DiagnosticsTap,
  ) {}

  /** Production's progress: starts the outage when its moment has come. */
  onChunk(produced: number): void {
    if (this.running === undefined && produced >= this.atEvent) this.running = this.stage(produced);
  }

  /** Resolves once the server is back (starting the outage now if production ended early). */
  finished(produced: number): Promise<OutageFigures> {
    this.running ??= this.stage(produced);
    return this.running;
  }

  private async stage(produced: number): Promise<OutageFigures> {
    const downAtMs = this.tap.now();
    await this.server.kill();
    this.tap.note("outage", `${this.server.program} killed (SIGKILL) after ${produced} events`);
    await sleep(this.downMs);
    await this.server.start();
    const upAtMs = this.tap.now();
    this.tap.note(
      "recovered",
      `${this.server.program} restarted after ${((upAtMs - downAtMs) / 1000).toFixed(1)} s`,
    );
    return { program: this.server.program, downAtMs, upAtMs, atEvent: produced };
  }
}
