import { type AdapterError, type Logger, isAdapterError, redactUrl } from "@netmesh/core/adapter";

/** Anything that looks like a URL with a scheme: its user-info is redacted wherever it appears. */
const URL_LIKE = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>]+/g;
/** Shorter secrets are only redacted inside URLs: replacing every occurrence would garble messages. */
export const MIN_SECRET_CHARS = 4;
/** How deep a cause chain, or a log line's fields, are copied; deeper values are dropped. */
const MAX_DEPTH = 8;
const REDACTED = "[REDACTED]";

/** `text` with the credentials of every URL in it replaced by `[REDACTED]`. */
export function scrubUrls(text: string): string {
  return text.replace(URL_LIKE, (url) => redactUrl(url));
}

/**
 * A copy of `error` that keeps only what helps diagnose it (`name`, `message`, `stack`, `code`,
 * `errno`, `syscall` and the cause chain), each string passed through `scrub`. Client errors can hold
 * more (the request, the client's options, the connection); none of that is copied.
 */
export function scrubbedCopy(error: unknown, scrub: (text: string) => string = scrubUrls, depth = 0): Error {
  const source = error instanceof Error ? error : undefined;
  const copy = new Error(scrub(source?.message ?? String(error)));
  copy.name = scrub(source?.name ?? "Error");
  copy.stack = source?.stack === undefined ? `${copy.name}: ${copy.message}` : scrub(source.stack);
  const extra = (source ?? {}) as { code?: unknown; errno?: unknown; syscall?: unknown; cause?: unknown };
  const fields = copy as Error & { code?: string | number; errno?: number; syscall?: string };
  if (typeof extra.code === "string") fields.code = scrub(extra.code);
  else if (typeof extra.code === "number") fields.code = extra.code;
  if (typeof extra.errno === "number") fields.errno = extra.errno;
  if (typeof extra.syscall === "string") fields.syscall = scrub(extra.syscall);
  if (extra.cause !== undefined && depth < MAX_DEPTH)
    copy.cause = scrubbedCopy(extra.cause, scrub, depth + 1);
  return copy;
}

/**
 * Keeps one adapter's secrets out of what it hands out: every error it rejects with and every log
 * line. Removes the user-info of any URL, and each known secret (a password or token from the URL or
 * `connectOptions`) wherever it appears, also without a URL around it.
 */
export class Redactor {
  private readonly secrets: readonly string[];

  constructor(secrets: readonly string[]) {
    // Longest first, so a secret that contains another is removed whole.
    this.secrets = [...new Set(secrets.filter((s) => s.length >= MIN_SECRET_CHARS))].sort(
      (a, b) => b.length - a.length,
    );
  }

  /** `text` without URL credentials and known secrets. */
  readonly text = (text: string): string => {
    let out = scrubUrls(text);
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  };

  /**
   * The error to hand out for `error`: an `AdapterError` of the same class and `notStored`, with its
   * message and stack scrubbed and its cause chain replaced by scrubbed copies ({@link scrubbedCopy}).
   * The own data fields of a subclass (such as `StreamResetError`'s) are copied too, scrubbed.
   * Anything else becomes a scrubbed copy.
   */
  error(error: unknown): unknown {
    if (!isAdapterError(error)) return scrubbedCopy(error, this.text);
    const options: { cause?: unknown; notStored: boolean } = { notStored: error.notStored };
    if (error.cause !== undefined) options.cause = scrubbedCopy(error.cause, this.text);
    const Kind = error.constructor as new (message: string, options: object) => AdapterError;
    const copy = new Kind(this.text(error.message), options);
    if (error.stack !== undefined) copy.stack = this.text(error.stack);
    for (const key of Object.keys(error)) {
      const field = Object.getOwnPropertyDescriptor(copy, key);
      if (key === "message" || key === "stack" || field?.writable !== true) continue;
      Object.defineProperty(copy, key, {
        ...field,
        value: this.value((error as unknown as Record<string, unknown>)[key]),
      });
    }
    return copy;
  }

  /** A logger passing every line through {@link Redactor.value} (message and fields, at any depth). */
  logger(logger: Logger): Logger {
    const at =
      (write: Logger["info"]) =>
      (fields: Record<string, unknown>, message: string): void => {
        write.call(logger, this.value(fields) as Record<string, unknown>, this.text(message));
      };
    return { debug: at(logger.debug), info: at(logger.info), warn: at(logger.warn), error: at(logger.error) };
  }

  /** A copy of a log field: strings scrubbed, errors as scrubbed copies, objects and arrays copied. */
  value(value: unknown, depth = 0): unknown {
    if (typeof value === "string") return this.text(value);
    if (typeof value !== "object" || value === null) return value;
    if (value instanceof Error) return scrubbedCopy(value, this.text);
    if (depth >= MAX_DEPTH) return "[…]";
    if (Array.isArray(value)) return value.map((item) => this.value(item, depth + 1));
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = this.value(item, depth + 1);
    return copy;
  }
}
