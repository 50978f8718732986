/**
 * The subscription iterations running on a bus: shutdown lets them deliver what is stored before it
 * closes the adapter (see `ShutdownOptions.subscriptionGraceMs`).
 */
export class RunningSubscriptions {
  private readonly running = new Set<Promise<void>>();

  /** Registers an iteration that starts now; call the result when it ends. */
  track(): () => void {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    this.running.add(ended);
    return () => {
      this.running.delete(ended);
      end();
    };
  }

  /** One promise per running iteration, settling when it ends. */
  all(): Promise<void>[] {
    return [...this.running];
  }
}
