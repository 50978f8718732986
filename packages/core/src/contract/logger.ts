/**
 * One log method: structured fields first, then the message (pino's calling convention).
 * A pino logger, or `console`, satisfies {@link Logger}.
 */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/** The logger the bus and adapters write to. Injected through config; silent by default. */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const ignore: LogMethod = () => {};

/** A logger that discards everything: the default. */
export const silentLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
});
