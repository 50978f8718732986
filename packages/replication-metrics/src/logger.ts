/**
 * One log method: structured fields first, then the message (pino's calling convention). Errors go
 * under the `err` field, which pino serialises with their stack.
 */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/** The logger probes report to: a pino logger fits, and so does `console`. */
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
